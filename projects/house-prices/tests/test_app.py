"""The Streamlit app through streamlit.testing's AppTest (the real script, no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from house_prices import app as app_module
from house_prices.data import Houses

APP = str(Path(app_module.__file__))


@pytest.fixture
def app(model_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv(app_module.MODEL_ENV, str(model_path))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def test_one_house_gets_a_price_interval_and_drivers(app: AppTest) -> None:
    app.slider(key=None)  # sliders exist
    quality = next(s for s in app.slider if s.label.startswith("Overall quality"))
    quality.set_value(8)
    app.button[0].click().run()
    assert not app.exception
    labels = {m.label: m.value for m in app.metric}
    assert labels["Estimated price"].startswith("$")
    assert "–" in labels["90% prediction interval"]
    assert any("What drives this price" in h.value for h in app.subheader)


def test_inconsistent_form_input_is_explained(app: AppTest) -> None:
    basement = next(n for n in app.number_input if n.label == "Basement (sq ft)")
    finished = next(n for n in app.number_input if n.label.startswith("of which finished"))
    basement.set_value(500)
    finished.set_value(900)
    app.button[0].click().run()
    assert not app.exception
    assert any("finished basement area cannot exceed" in e.value for e in app.error)
    assert not app.metric  # no price for an impossible house


def test_batch_csv_predictions(app: AppTest, test_houses: Houses) -> None:
    payload = test_houses.frame.head(12).to_csv(index=False).encode()
    app.file_uploader[0].set_value(("houses.csv", payload, "text/csv")).run()
    assert not app.exception
    assert any("Predicted 12 houses" in s.value for s in app.success)


def test_batch_csv_with_problems_is_rejected_clearly(app: AppTest, test_houses: Houses) -> None:
    bad = test_houses.frame.head(5).drop(columns=["Neighborhood"])
    app.file_uploader[0].set_value(("bad.csv", bad.to_csv(index=False).encode(), "text/csv")).run()
    assert not app.exception
    assert any("bad.csv cannot be used" in e.value and "Neighborhood" in e.value for e in app.error)


def test_missing_model_is_a_message_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(app_module.MODEL_ENV, str(tmp_path / "missing.joblib"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert any("No trained model" in e.value for e in at.error)
    assert any("house-prices train" in i.value for i in at.info)
