"""The data layer: registry, verified resolution order, downloads and the errors users see."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlshared import datasets
from mlshared.datasets import (
    ChecksumMismatchError,
    DataSettings,
    DatasetUnavailableError,
    UrlSource,
    fetch,
    fingerprint,
    resolve_dir,
    resolve_file,
)
from mlshared.datasets import store as store_module

EXPECTED_FILES = {"house-prices": 4, "telco-churn": 1, "sst2": 2, "hymenoptera": 398, "fraud-sim": 1, "squad": 1}


def test_registry_lists_every_project_dataset_with_provenance() -> None:
    specs = datasets.registry()
    assert {name: len(spec.files) for name, spec in specs.items()} == EXPECTED_FILES
    for spec in specs.values():
        assert spec.licence and spec.citation and spec.homepage.startswith("https://")
        assert all(len(digest) == 64 for digest in spec.checksums.values())


def test_registry_checksums_match_the_mirror_manifest(mirror: Path) -> None:
    manifest = {}
    for line in (mirror / "SHA256SUMS").read_text().splitlines():
        digest, _, path = line.partition("  ")
        manifest[path] = digest
    registered = {f"{n}/{f}": d for n, s in datasets.registry().items() for f, d in s.checksums.items()}
    assert registered == manifest


def test_file_names_with_spaces_are_registered() -> None:
    assert "train/ants/ant photos.jpg" in datasets.get_spec("hymenoptera").checksums


def test_resolves_from_the_mirror_and_verifies(mirror: Path, tmp_path: Path) -> None:
    settings = DataSettings(mirror=mirror, cache=tmp_path / "cache", offline=True)
    path = resolve_file("house-prices", "train.csv", settings)
    assert path == mirror / "house-prices" / "train.csv"


def test_cache_is_preferred_over_the_mirror(mirror: Path, tmp_path: Path) -> None:
    cached = tmp_path / "cache" / "telco-churn" / "Telco-Customer-Churn.csv"
    cached.parent.mkdir(parents=True)
    shutil.copy(mirror / "telco-churn" / "Telco-Customer-Churn.csv", cached)
    settings = DataSettings(mirror=mirror, cache=tmp_path / "cache", offline=True)
    assert resolve_file("telco-churn", "Telco-Customer-Churn.csv", settings) == cached


def test_checksum_mismatch_is_never_used_silently(mirror: Path, tmp_path: Path) -> None:
    bad_mirror = tmp_path / "mirror"
    (bad_mirror / "house-prices").mkdir(parents=True)
    tampered = bad_mirror / "house-prices" / "train.csv"
    tampered.write_bytes((mirror / "house-prices" / "train.csv").read_bytes() + b"\n1,2,3")
    settings = DataSettings(mirror=bad_mirror, cache=tmp_path / "cache", offline=True)
    with pytest.raises(ChecksumMismatchError) as caught:
        resolve_file("house-prices", "train.csv", settings)
    message = str(caught.value)
    assert str(tampered) in message
    assert datasets.get_spec("house-prices").checksums["train.csv"] in message
    assert hashlib.sha256(tampered.read_bytes()).hexdigest() in message


def test_offline_error_says_where_it_looked_and_how_to_get_the_data(empty_settings: DataSettings) -> None:
    with pytest.raises(DatasetUnavailableError) as caught:
        resolve_file("house-prices", "train.csv", empty_settings)
    text = str(caught.value)
    assert str(empty_settings.cache / "house-prices") in text
    assert "PORTFOLIO_DATA_MIRROR" in text
    assert "kaggle competitions download" in text  # the manual instructions of this source


def test_downloads_are_refused_when_offline(empty_settings: DataSettings) -> None:
    with pytest.raises(DatasetUnavailableError, match="PORTFOLIO_DATA_OFFLINE"):
        fetch("telco-churn", settings=empty_settings)


def test_unknown_dataset_and_file_name_the_alternatives(empty_settings: DataSettings) -> None:
    with pytest.raises(datasets.store.UserError, match="Known datasets"):
        resolve_file("no-such-data", "x.csv", empty_settings)
    with pytest.raises(datasets.store.UserError, match=r"train\.csv"):
        resolve_file("house-prices", "nope.csv", empty_settings)


def test_resolve_dir_returns_a_complete_verified_tree(mirror: Path, tmp_path: Path) -> None:
    settings = DataSettings(mirror=mirror, cache=tmp_path / "cache", offline=True)
    root = resolve_dir("hymenoptera", settings)
    assert (root / "train" / "ants" / "imageNotFound.gif").is_file()
    assert sum(1 for p in root.rglob("*") if p.is_file()) >= 398


def test_fingerprint_is_stable_and_file_specific() -> None:
    assert fingerprint("house-prices") == fingerprint("house-prices")
    assert fingerprint("house-prices", ["train.csv"]) != fingerprint("house-prices", ["test.csv"])
    assert len(fingerprint("sst2")) == 16


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on localhost serving a folder."""
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: _Handler(*a, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", root
    server.shutdown()


def _point_telco_at(monkeypatch: pytest.MonkeyPatch, base_url: str) -> None:
    specs = dict(datasets.registry())
    specs["telco-churn"] = dataclasses.replace(specs["telco-churn"], source=UrlSource(base_url))
    monkeypatch.setattr(store_module, "registry", lambda: specs)


def test_download_verifies_and_caches(
    http_root: tuple[str, Path], mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, www = http_root
    shutil.copy(mirror / "telco-churn" / "Telco-Customer-Churn.csv", www / "Telco-Customer-Churn.csv")
    _point_telco_at(monkeypatch, url)
    settings = DataSettings(mirror=tmp_path / "nowhere", cache=tmp_path / "cache", offline=False)
    path = resolve_file("telco-churn", "Telco-Customer-Churn.csv", settings)
    assert path == tmp_path / "cache" / "telco-churn" / "Telco-Customer-Churn.csv"
    assert path.read_bytes() == (www / "Telco-Customer-Churn.csv").read_bytes()


def test_a_bad_download_is_set_aside_not_used(
    http_root: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, www = http_root
    (www / "Telco-Customer-Churn.csv").write_text("customerID,Churn\nx,Yes\n")
    _point_telco_at(monkeypatch, url)
    settings = DataSettings(mirror=tmp_path / "nowhere", cache=tmp_path / "cache", offline=False)
    with pytest.raises(ChecksumMismatchError):
        resolve_file("telco-churn", "Telco-Customer-Churn.csv", settings)
    target = tmp_path / "cache" / "telco-churn" / "Telco-Customer-Churn.csv"
    assert not target.exists()
    assert target.with_name(target.name + ".sha256-mismatch").is_file()  # kept for inspection


def test_unreachable_host_gives_the_offline_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlshared.servers import free_port

    _point_telco_at(monkeypatch, f"http://127.0.0.1:{free_port()}/")
    settings = DataSettings(mirror=tmp_path / "nowhere", cache=tmp_path / "cache", offline=False, timeout_s=5)
    with pytest.raises(DatasetUnavailableError, match="offline"):
        resolve_file("telco-churn", "Telco-Customer-Churn.csv", settings)


def test_default_mirror_is_the_shared_data_folder_beside_the_repository(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (tmp_path / "shared" / "data").mkdir(parents=True)
    monkeypatch.chdir(repo)
    monkeypatch.delenv("PORTFOLIO_DATA_MIRROR", raising=False)
    monkeypatch.delenv("PORTFOLIO_HOME", raising=False)
    assert DataSettings().mirror_dir() == tmp_path / "shared" / "data"
    monkeypatch.setenv("PORTFOLIO_DATA_MIRROR", str(tmp_path / "elsewhere"))
    assert DataSettings().mirror_dir() == tmp_path / "elsewhere"
