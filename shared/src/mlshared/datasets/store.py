"""Find a dataset file: local cache -> mirror -> verified download -> an error that says what to do.

Every file is checked against the registry's sha256 before it is handed out. A file whose
checksum does not match is never used: the error names the file and both hashes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from platformdirs import user_cache_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from mlshared.console import UserError, make_progress
from mlshared.datasets.registry import ArchiveSource, DatasetSpec, ManualSource, UrlSource, registry
from mlshared.paths import find_workspace_root

MIRROR_ENV = "PORTFOLIO_DATA_MIRROR"
CACHE_ENV = "PORTFOLIO_DATA_CACHE"
OFFLINE_ENV = "PORTFOLIO_DATA_OFFLINE"
_CHUNK = 1 << 20


class DataSettings(BaseSettings):
    """Where datasets are looked for; every field can be set from the environment."""

    model_config = SettingsConfigDict(env_prefix="PORTFOLIO_DATA_", extra="ignore")

    mirror: Path | None = Field(
        default=None,
        description="Read-only mirror laid out as <dataset>/<file> (PORTFOLIO_DATA_MIRROR). "
        "Unset: a `shared/data` folder beside the repository, if there is one.",
    )
    cache: Path = Field(
        default_factory=lambda: Path(user_cache_dir("ml-portfolio")) / "datasets",
        description="Writable cache for downloaded files (PORTFOLIO_DATA_CACHE).",
    )
    offline: bool = Field(default=False, description="Never try to download (PORTFOLIO_DATA_OFFLINE=1).")
    timeout_s: float = Field(default=60.0, description="Network timeout per request.")

    def mirror_dir(self) -> Path | None:
        if self.mirror is not None:
            return self.mirror.expanduser()
        beside_repo = find_workspace_root().parent / "shared" / "data"
        return beside_repo if beside_repo.is_dir() else None


class ChecksumMismatchError(UserError):
    def __init__(self, path: Path, expected: str, actual: str) -> None:
        super().__init__(
            f"Checksum mismatch for {path}: expected sha256 {expected}, got {actual}. The file was not used.",
            hint="The file is corrupt, truncated or a different version. Delete it and run "
            "`portfolio data fetch <dataset> --force`, or point PORTFOLIO_DATA_MIRROR at a verified copy.",
        )
        self.path, self.expected, self.actual = path, expected, actual


class DatasetUnavailableError(UserError):
    pass


# Hashing a file is cheap but not free (hymenoptera is 400 files); remember verified files
# for the life of the process, keyed by identity and modification time.
_verified: dict[tuple[str, int, int], str] = {}


def sha256_file(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _verified:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        _verified[key] = digest.hexdigest()
    return _verified[key]


def verify_file(path: Path, expected: str) -> Path:
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumMismatchError(path, expected, actual)
    return path


def get_spec(name: str) -> DatasetSpec:
    specs = registry()
    if name not in specs:
        raise UserError(f"Unknown dataset {name!r}.", hint=f"Known datasets: {', '.join(sorted(specs))}.")
    return specs[name]


def _expected(spec: DatasetSpec, relpath: str) -> str:
    if relpath not in spec.checksums:
        raise UserError(
            f"Dataset {spec.name!r} has no file {relpath!r}.",
            hint=f"Its files include: {', '.join(spec.files[:8])}{' ...' if len(spec.files) > 8 else ''}",
        )
    return spec.checksums[relpath]


Location = Literal["cache", "mirror", "missing"]


@dataclass(frozen=True)
class FileStatus:
    relpath: str
    location: Location
    path: Path | None
    ok: bool | None  # None when missing
    actual_sha256: str | None = None


def _candidates(spec: DatasetSpec, settings: DataSettings) -> list[tuple[Location, Path]]:
    places: list[tuple[Location, Path]] = [("cache", settings.cache / spec.name)]
    mirror = settings.mirror_dir()
    if mirror is not None:
        places.append(("mirror", mirror / spec.name))
    return places


def file_status(spec: DatasetSpec, relpath: str, settings: DataSettings) -> FileStatus:
    expected = _expected(spec, relpath)
    for location, folder in _candidates(spec, settings):
        path = folder / relpath
        if path.is_file():
            actual = sha256_file(path)
            return FileStatus(relpath, location, path, actual == expected, actual)
    return FileStatus(relpath, "missing", None, None)


def resolve_file(name: str, relpath: str, settings: DataSettings | None = None) -> Path:
    """The verified local path of one dataset file, downloading it if needed and allowed."""
    settings = settings or DataSettings()
    spec = get_spec(name)
    status = file_status(spec, relpath, settings)
    if status.path is not None:
        return verify_file(status.path, spec.checksums[relpath])
    fetch(name, settings=settings)
    return verify_file(settings.cache / name / relpath, spec.checksums[relpath])


def resolve_dir(name: str, settings: DataSettings | None = None) -> Path:
    """A directory holding every verified file of a dataset (for datasets read as a folder tree)."""
    settings = settings or DataSettings()
    spec = get_spec(name)
    for _, folder in _candidates(spec, settings):
        if all((folder / relpath).is_file() for relpath in spec.files):
            for relpath in spec.files:
                verify_file(folder / relpath, spec.checksums[relpath])
            return folder
    return fetch(name, settings=settings)


def fingerprint(name: str, files: list[str] | None = None) -> str:
    """A short, stable id of the exact data a model was trained on (hash of the file checksums)."""
    spec = get_spec(name)
    lines = [f"{spec.checksums[f]}  {f}" for f in sorted(files or spec.files)]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def status(name: str, settings: DataSettings | None = None) -> list[FileStatus]:
    settings = settings or DataSettings()
    spec = get_spec(name)
    return [file_status(spec, relpath, settings) for relpath in spec.files]


def _how_to_get(spec: DatasetSpec, settings: DataSettings, reason: str) -> DatasetUnavailableError:
    target = settings.cache / spec.name
    mirror = settings.mirror_dir()
    where = f"mirror {mirror / spec.name}" if mirror else f"no mirror ({MIRROR_ENV} is unset)"
    manual = spec.source.instructions.format(target=target) if isinstance(spec.source, ManualSource) else ""
    return DatasetUnavailableError(
        f"Dataset {spec.name!r} is not available locally ({reason}). Looked in: cache {target}, {where}.",
        hint=" ".join(
            part
            for part in (
                manual,
                f"Or set {MIRROR_ENV} to a directory laid out as <dataset>/<file> that holds it "
                "(for example the team mirror ../shared/data).",
                f"Source: {spec.homepage}",
            )
            if part
        ),
    )


def _download(url: str, dest: Path, settings: DataSettings, label: str) -> None:
    """Stream `url` to `dest` through a `.part` file, with a progress bar."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    request = urllib.request.Request(url, headers={"User-Agent": "ml-portfolio-data/0.1"})
    with urllib.request.urlopen(request, timeout=settings.timeout_s) as response, part.open("wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        with make_progress() as progress:
            task = progress.add_task(f"Downloading {label}", total=total)
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                progress.advance(task, len(chunk))
    part.replace(dest)


def _accept(path: Path, expected: str) -> None:
    """Keep a downloaded file only if it matches; otherwise set it aside (nothing is lost) and fail."""
    actual = sha256_file(path)
    if actual != expected:
        rejected = path.with_name(path.name + ".sha256-mismatch")
        path.replace(rejected)
        raise ChecksumMismatchError(rejected, expected, actual)


def fetch(name: str, force: bool = False, settings: DataSettings | None = None) -> Path:
    """Make every file of a dataset available in the cache (or confirm the mirror has it)."""
    settings = settings or DataSettings()
    spec = get_spec(name)
    target = settings.cache / spec.name
    if not force:
        statuses = [file_status(spec, relpath, settings) for relpath in spec.files]
        for s in statuses:
            if s.ok is False and s.path is not None:
                raise ChecksumMismatchError(s.path, spec.checksums[s.relpath], s.actual_sha256 or "")
        locations = {s.location for s in statuses}
        if locations == {"cache"}:
            return target
        if locations == {"mirror"}:
            mirror = settings.mirror_dir()
            assert mirror is not None
            return mirror / spec.name
    if isinstance(spec.source, ManualSource):
        raise _how_to_get(spec, settings, "it cannot be downloaded automatically")
    if settings.offline:
        raise _how_to_get(spec, settings, f"downloads are disabled by {OFFLINE_ENV}")
    try:
        if isinstance(spec.source, UrlSource):
            for relpath in spec.files:
                dest = target / relpath
                if not force and dest.is_file() and sha256_file(dest) == spec.checksums[relpath]:
                    continue
                _download(spec.source.base_url + relpath, dest, settings, f"{name}/{relpath}")
                _accept(dest, spec.checksums[relpath])
        elif isinstance(spec.source, ArchiveSource):
            _fetch_archive(spec, spec.source, target, settings)
    except urllib.error.HTTPError as error:
        raise _how_to_get(spec, settings, f"download failed: HTTP {error.code} from {error.url}") from error
    except OSError as error:  # URLError, timeouts, refused connections, DNS failures
        reason = getattr(error, "reason", error)
        raise _how_to_get(spec, settings, f"download failed ({reason}); is this machine offline?") from error
    return target


def _fetch_archive(spec: DatasetSpec, source: ArchiveSource, target: Path, settings: DataSettings) -> None:
    with tempfile.TemporaryDirectory(prefix=f"{spec.name}-") as tmp:
        archive = Path(tmp) / "archive.zip"
        _download(source.url, archive, settings, f"{spec.name} archive")
        with zipfile.ZipFile(archive) as zipped:
            members = {m.filename.removeprefix(source.strip_prefix): m for m in zipped.infolist()}
            missing = [relpath for relpath in spec.files if relpath not in members]
            if missing:
                raise UserError(
                    f"The {spec.name} archive from {source.url} lacks {len(missing)} expected files "
                    f"(first: {missing[0]!r}).",
                    hint="The upstream archive has changed; use a mirror with the reference copy.",
                )
            staging = Path(tmp) / "staging"
            for relpath in spec.files:
                dest = staging / relpath
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(members[relpath]) as src, dest.open("wb") as out:
                    shutil.copyfileobj(src, out)
                _accept(dest, spec.checksums[relpath])
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging), str(target))


def describe_settings(settings: DataSettings | None = None) -> dict[str, str]:
    settings = settings or DataSettings()
    mirror = settings.mirror_dir()
    return {
        "cache": str(settings.cache),
        "mirror": f"{mirror} ({'from ' + MIRROR_ENV if os.environ.get(MIRROR_ENV) else 'default'})"
        if mirror
        else f"none ({MIRROR_ENV} unset and no shared/data beside the repository)",
        "offline": str(settings.offline),
    }
