"""Data layer: what the scan finds in the real dataset and in a folder with junk, and why it excludes files."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from image_classifier.data import ImageData, load
from image_classifier.images import ImageProblemError, open_image, pixel_limit
from mlshared.console import UserError


def test_real_dataset_counts_and_the_placeholder_rule(real_data: ImageData) -> None:
    report = real_data.report()
    assert real_data.classes == ["ants", "bees"]
    assert report["found"]["train"]["files"] == 245 and report["found"]["val"]["files"] == 153
    assert report["found"]["train"]["extensions"] == {".gif": 1, ".jpeg": 1, ".jpg": 243}
    assert [e["file"] for e in report["excluded"]] == ["train/ants/imageNotFound.gif"]
    assert "placeholder" in report["excluded"][0]["reason"]
    assert len(real_data.test) == 153 and report["used"]["test"] == {"ants": 70, "bees": 83}
    assert len(real_data.train) + len(real_data.validation) == 244
    assert "train/ants/ant photos.jpg" in report["names_with_spaces"]
    assert "89,478,485" in report["rules"]["decompression_bombs"]


def test_validation_is_carved_from_train_stratified_and_seeded(real_data: ImageData) -> None:
    train_paths = {s.path for s in real_data.train}
    val_paths = {s.path for s in real_data.validation}
    assert not train_paths & val_paths
    assert not (train_paths | val_paths) & {s.path for s in real_data.test}
    counts = real_data.report()["used"]["validation"]
    assert abs(counts["ants"] - counts["bees"]) <= 1  # 123 ants vs 121 bees -> balanced halves
    again = load(real_data.root, "hymenoptera", 0.2, 0.2, 42)  # same seed, same split (another cache key)
    assert [s.path for s in again.validation] == [s.path for s in real_data.validation]


def test_a_folder_of_classes_gets_a_test_split_and_junk_is_listed(small_folder: Path) -> None:
    data = load(small_folder, "hymenoptera", 0.2, 0.25, 0)
    assert data.classes == ["ants", "bees"]
    assert len(data.train) + len(data.validation) + len(data.test) == 16
    reasons = {Path(e["file"]).name: e["reason"] for e in data.report()["excluded"]}
    assert set(reasons) == {"truncated.jpg", "notes.jpg", "empty.png", ".DS_Store"}
    assert "corrupt or truncated" in reasons["truncated.jpg"]
    assert "not an image" in reasons["notes.jpg"]
    assert "empty" in reasons["empty.png"]
    assert reasons[".DS_Store"] == "hidden file"


def test_a_class_without_usable_images_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "cats").mkdir()
    (tmp_path / "dogs").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "cats" / "a.png")
    Image.new("RGB", (8, 8)).save(tmp_path / "cats" / "b.png")
    (tmp_path / "dogs" / "a.jpg").write_text("no", encoding="utf-8")
    with pytest.raises(UserError, match="No usable images for class"):
        load(tmp_path, "hymenoptera", 0.2, 0.2, 0)


def test_one_class_is_not_a_classification_problem(tmp_path: Path) -> None:
    (tmp_path / "only").mkdir()
    with pytest.raises(UserError, match="at least two"):
        load(tmp_path, "hymenoptera", 0.2, 0.2, 0)


def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    """A real one: 10,000 x 10,000 one-bit pixels compress to a few kB of PNG."""
    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buffer, format="PNG")
    assert len(buffer.getvalue()) < 100_000
    with pytest.raises(ImageProblemError, match=r"100,000,000 pixels.*89,478,485 pixels"):
        open_image(buffer.getvalue(), "bomb.png")
    assert pixel_limit() == 89_478_485


def test_gifs_and_palette_images_become_rgb(hymenoptera: Path) -> None:
    buffer = io.BytesIO()
    Image.new("P", (20, 10)).save(buffer, format="GIF")
    image = open_image(buffer.getvalue(), "tiny.gif")
    assert image.mode == "RGB" and image.size == (20, 10)
