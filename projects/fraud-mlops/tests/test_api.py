"""The API against a real model and real stores: online features equal the batch features (SQLite and a
real redis-server), delayed feedback, the prediction log, 4xx answers that change no state, reloads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import joblib
import polars as pl
import pytest
import xgboost
from fastapi.testclient import TestClient

from fraud_mlops.features import compute
from fraud_mlops.models import FraudModel
from fraud_mlops.schema import AMOUNT, CUSTOMER, TERMINAL, TIME, TX_ID
from fraud_mlops.serve import Served, Settings, create_app
from mlshared.servers import redis_server

KEY = "test-key"


@pytest.fixture(scope="module")
def replay_day(small_log: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """History (days < 50, labels known) and what to replay: day 50 of every fourth customer (~150
    transactions; the batch side computes the same stream, so the comparison is exact)."""
    day = small_log.filter((pl.col("TX_TIME_DAYS") == 50) & (pl.col(CUSTOMER) % 4 == 0))
    return small_log.filter(pl.col("TX_TIME_DAYS") < 50), day


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server (the Debian package) on a free port, no persistence, stopped afterwards."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


def make_client(
    tmp_path: Path, model: FraudModel, redis: str | None = None, key: str | None = KEY, **overrides: Any
) -> TestClient:
    settings = Settings(
        state_path=tmp_path / "online.sqlite", prediction_log=tmp_path / "predictions.jsonl", redis_url=redis,
        api_key=key, access_log=False, model_path=tmp_path / "model.joblib", **overrides,
    )  # fmt: skip
    tmp_path.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, tmp_path / "model.joblib")
    return TestClient(create_app(settings, Served(model, "test")), headers={"X-API-Key": KEY})


def body(row: dict[str, object]) -> dict[str, object]:
    time = row[TIME]
    assert isinstance(time, datetime)
    return {"transaction_id": row[TX_ID], "tx_datetime": time.isoformat(), "customer_id": row[CUSTOMER],
            "terminal_id": row[TERMINAL], "amount": row[AMOUNT]}  # fmt: skip


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_a_replayed_day_gets_the_batch_features(
    backend: str, fraud_model: FraudModel, small_log: pl.DataFrame, replay_day: tuple[pl.DataFrame, pl.DataFrame],
    tmp_path: Path, request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    history, day = replay_day
    redis = request.getfixturevalue("redis_url") if backend == "redis" else None
    if redis:
        import redis as redis_lib

        redis_lib.Redis.from_url(redis).flushdb()
    client = make_client(tmp_path, fraud_model, redis)
    with client:
        store = client.app.state.service.extras["fraud"].online.store  # type: ignore[attr-defined]
        store.bulk_load(history)  # warm start: the history with its (long known) labels
        batch = compute(pl.concat([history, day])).filter(pl.col("TX_TIME_DAYS") == 50)
        expected = {row[TX_ID]: row for row in batch.iter_rows(named=True)}
        assert (batch["TERMINAL_ID_DAYS_SINCE_FIRST_FRAUD"] > 0).sum() >= 5  # the label-based features are exercised
        for row in day.sort([TIME, TX_ID]).iter_rows(named=True):
            answer = client.post("/predict", json=body(row))
            assert answer.status_code == 200, answer.text
            got = answer.json()["features"]
            for name in fraud_model.features:
                assert got[name] == pytest.approx(expected[row[TX_ID]][name], abs=1e-9, rel=1e-9), (row[TX_ID], name)
            want = fraud_model.score(batch.filter(pl.col(TX_ID) == row[TX_ID]))[0]
            assert answer.json()["fraud_probability"] == pytest.approx(want, abs=1e-6)
    log = [json.loads(line) for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert [entry["transaction_id"] for entry in log] == day.sort([TIME, TX_ID])[TX_ID].to_list()


def test_feedback_counts_only_after_the_delay(fraud_model: FraudModel, small_log: pl.DataFrame, tmp_path: Path) -> None:
    first = small_log.filter(pl.col(TERMINAL) == small_log[TERMINAL][0]).sort(TIME).row(0, named=True)
    with make_client(tmp_path, fraud_model) as client:
        assert client.post("/predict", json=body(first)).status_code == 200
        answer = client.post("/feedback", json={"transaction_id": first[TX_ID], "label": 1})
        assert answer.status_code == 200
        assert answer.json()["used_from"].startswith(str((first[TIME] + timedelta(days=7)).date()))

        def terminal(after: timedelta, tx_id: int) -> tuple[float, float]:
            """The 1-day risk and the days since the earliest known fraud, for a new customer at `after`."""
            row = {**first, TX_ID: tx_id, TIME: first[TIME] + after, CUSTOMER: 10_000 + tx_id}
            got = client.post("/predict", json=body(row)).json()["features"]
            return float(got["TERMINAL_ID_RISK_1DAY_WINDOW"]), float(got["TERMINAL_ID_DAYS_SINCE_FIRST_FRAUD"])

        assert terminal(timedelta(days=6, hours=23), 900_001) == (0.0, 0.0)  # the label is not usable yet
        # Now it is: 1 fraud of 1 transaction, 7 days and 1 hour old.
        assert terminal(timedelta(days=7, hours=1), 900_002) == pytest.approx((1.0, 7 + 1 / 24), rel=1e-12)


def test_bad_requests_get_a_clear_4xx_and_change_nothing(
    fraud_model: FraudModel, small_log: pl.DataFrame, tmp_path: Path
) -> None:
    rows = small_log.sort(TIME).head(3).iter_rows(named=True)
    first, second, _ = list(rows)
    with make_client(tmp_path, fraud_model) as client:
        store = client.app.state.service.extras["fraud"].online.store  # type: ignore[attr-defined]
        assert client.post("/predict", json=body(second)).status_code == 200
        before = store.latest_ns(), (tmp_path / "predictions.jsonl").read_text()
        cases = [
            ({**body(first), "amount": -1}, 422, "amount"),
            ({**body(first), "amount": "12"}, 422, "amount"),
            ({k: v for k, v in body(first).items() if k != "terminal_id"}, 422, "terminal_id"),
            ({**body(first), "extra": 1}, 422, "extra"),
            (body(second), 409, "already scored"),
            ({**body(first), "tx_datetime": (first[TIME] - timedelta(hours=1)).isoformat()}, 409, "time order"),
        ]
        for payload, status, words in cases:
            answer = client.post("/predict", json=payload)
            assert answer.status_code == status, (payload, answer.text)
            assert words in answer.text
        unknown = client.post("/feedback", json={"transaction_id": 123_456_789, "label": 1})
        assert unknown.status_code == 422 and "Unknown transaction" in unknown.text
        assert client.post("/feedback", json={"transaction_id": second[TX_ID], "label": 2}).status_code == 422
        assert (store.latest_ns(), (tmp_path / "predictions.jsonl").read_text()) == before
        assert not store.has(first[TX_ID])


def test_a_restart_keeps_the_state(fraud_model: FraudModel, small_log: pl.DataFrame, tmp_path: Path) -> None:
    """The group of writes still open at shutdown is committed: the restarted service knows the transaction."""
    row = small_log.sort(TIME).row(0, named=True)
    with make_client(tmp_path, fraud_model, commit_interval_ms=3_600_000) as client:  # only the shutdown commits
        assert client.post("/predict", json=body(row)).status_code == 200
    with make_client(tmp_path, fraud_model) as client:
        again = client.post("/predict", json=body(row))
    assert again.status_code == 409 and "already scored" in again.text


def test_model_info_and_reload_behind_the_key(fraud_model: FraudModel, tmp_path: Path) -> None:
    with make_client(tmp_path, fraud_model) as client:
        info = client.get("/model").json()
        assert info["feature_set"] == "extended" and info["version"] == "test"
        assert client.post("/admin/reload", headers={"X-API-Key": "wrong"}).status_code == 401
        reloaded = client.post("/admin/reload")
        assert reloaded.status_code == 200 and reloaded.json()["version"] == "file:model.joblib"
        assert client.get("/model").json()["version"] == "file:model.joblib"
    with make_client(tmp_path / "open", fraud_model, key=None) as client:
        assert client.post("/admin/reload").status_code == 403


def test_a_failed_reload_keeps_the_current_model(fraud_model: FraudModel, tmp_path: Path) -> None:
    with make_client(tmp_path, fraud_model) as client:
        (tmp_path / "model.joblib").write_bytes(b"not a model")
        answer = client.post("/admin/reload")
        assert answer.status_code == 503 and "still serving test" in answer.text
        assert client.get("/model").json()["version"] == "test"
        assert client.get("/ready").status_code == 200


def test_reasons_are_the_exact_contributions_of_a_block(
    fraud_model: FraudModel, small_log: pl.DataFrame, tmp_path: Path
) -> None:
    row = small_log.sort(TIME).row(0, named=True)
    names = fraud_model.features

    def expected(features: dict[str, float]) -> list[tuple[str, float]]:
        matrix = xgboost.DMatrix([[features[n] for n in names]], feature_names=names)
        contributions = fraud_model.estimator.get_booster().predict(matrix, pred_contribs=True)[0][:-1]
        top = sorted(zip(contributions, names, strict=True), reverse=True)[:3]
        return [(name, float(c)) for c, name in top if c > 0]

    def answer(threshold: float, reasons: str) -> dict[str, Any]:
        model = replace(fraud_model, threshold=threshold)
        with make_client(tmp_path / f"{threshold}-{reasons}", model, reasons=reasons) as client:
            response = client.post("/predict", json=body(row))
        assert response.status_code == 200, response.text
        return dict(response.json())

    allowed = answer(1.0, "blocked")
    assert allowed["decision"] == "allow" and allowed["reasons"] == []  # default: only a block is explained
    blocked = answer(0.0, "blocked")
    assert blocked["decision"] == "block"
    want = expected(blocked["features"])
    assert want and [r["feature"] for r in blocked["reasons"]] == [name for name, _ in want]
    assert [r["contribution"] for r in blocked["reasons"]] == pytest.approx([c for _, c in want], rel=1e-6)
    explained = answer(1.0, "all")
    assert explained["reasons"] == blocked["reasons"]
