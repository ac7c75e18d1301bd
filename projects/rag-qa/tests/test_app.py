"""The Streamlit app through streamlit.testing's AppTest (the real script, a real index, no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rag_qa import app as app_module
from rag_qa.store import INDEX_DIR_ENV

APP = str(Path(app_module.__file__))


def _app(index_dir: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv(INDEX_DIR_ENV, str(index_dir))
    monkeypatch.setenv(app_module.PROFILE_ENV, "quick")
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception
    return at


def test_empty_index_and_empty_question_are_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(tmp_path / "empty-index", monkeypatch)
    at.button[0].click().run()
    assert any("Type a question first" in e.value for e in at.error)
    at.text_input[0].set_value("Who discovered oxygen?")
    at.button[0].click().run()
    assert any("The index is empty" in e.value for e in at.error)


def test_upload_then_ask_shows_the_cited_passage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(tmp_path / "index", monkeypatch)
    text = b"Oxygen was discovered by Joseph Priestley and Carl Wilhelm Scheele in the 1770s."
    at.sidebar.file_uploader[0].set_value(
        [("oxygen.md", text, "text/markdown"), ("broken.pdf", b"nope", "application/pdf")]
    ).run()
    assert any("Indexed oxygen.md" in s.value for s in at.sidebar.success)
    assert any("broken.pdf was not added" in e.value and "cannot be read" in e.value for e in at.sidebar.error)
    at.text_input[0].set_value("Who discovered oxygen?")
    at.button[0].click().run()
    assert not at.exception
    assert any("Priestley" in s.value and "[oxygen.md#0]" in s.value for s in at.success)
    assert any("<mark>" in m.value for m in at.markdown)
