"""The Streamlit app through streamlit.testing's AppTest (the real script, no browser)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from image_classifier import app as app_module

APP = str(Path(app_module.__file__))
pytestmark = pytest.mark.slow


@pytest.fixture
def app(model_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv(app_module.MODEL_ENV, str(model_path))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    return at


def _upload(at: AppTest, files: list[tuple[str, bytes, str]]) -> AppTest:
    at.file_uploader(key="uploads").set_value(files)
    return at.run()


def test_first_screen_invites_an_upload(app: AppTest) -> None:
    assert any("Upload images or pick examples" in i.value for i in app.info)
    assert any("Try the examples" in s.value for s in app.subheader)
    assert any("its mirror image" in c.value for c in app.caption)  # the model's test-time flips are stated


def test_uploaded_photos_get_a_class_and_a_gradcam(app: AppTest, hymenoptera: Path) -> None:
    ant = (hymenoptera / "val" / "ants" / "10308379_1b6c72e180.jpg").read_bytes()
    bee = (hymenoptera / "val" / "bees" / "1032546534_06907fe3b3.jpg").read_bytes()
    _upload(app, [("ant.jpg", ant, "image/jpeg"), ("bee.jpg", bee, "image/jpeg")])
    assert not app.exception
    results = [s.value for s in app.success]
    assert len(results) == 2
    assert results[0].startswith("ant.jpg: **") and results[1].startswith("bee.jpg: **")
    assert len(app.dataframe) == 2


def test_bad_uploads_are_explained_and_the_good_one_still_classified(app: AppTest, hymenoptera: Path) -> None:
    photo = (hymenoptera / "val" / "bees" / "1032546534_06907fe3b3.jpg").read_bytes()
    bomb = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(bomb, format="PNG")
    _upload(
        app,
        [
            ("notes.txt", b"hello", "text/plain"),
            ("empty.jpg", b"", "image/jpeg"),
            ("broken.jpg", photo[: len(photo) // 3], "image/jpeg"),
            ("bomb.png", bomb.getvalue(), "image/png"),
            ("bee.jpg", photo, "image/jpeg"),
        ],
    )
    assert not app.exception
    errors = " | ".join(e.value for e in app.error)
    assert "notes.txt is not an image" in errors
    assert "empty.jpg is empty" in errors
    assert "broken.jpg is corrupt or truncated" in errors
    assert "bomb.png is too large to decode safely" in errors and "89,478,485" in errors
    assert [s.value.split(":")[0] for s in app.success] == ["bee.jpg"]


def test_examples_button(app: AppTest) -> None:
    app.button[0].click().run()
    assert not app.exception
    assert len(app.success) == 2


def test_missing_model_is_a_message_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(app_module.MODEL_ENV, str(tmp_path / "missing.pt"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert any("No trained model" in e.value for e in at.error)
    assert any("image-classifier train" in i.value for i in at.info)
