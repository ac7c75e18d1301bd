"""What a /predict costs beyond the chassis: the real app in-process (no HTTP, no wrk), interleaved rounds of
GET /health, a POST that only parses the transaction and answers (the same dependencies as /predict: API key,
`json_body`, the loaded model), and POST /predict on a warm SQLite store. The do-nothing POST bounds the
/predict-to-/health throughput ratio any handler on this chassis can reach. See docs/experiments.md section 8.

    PORTFOLIO_DATA_MIRROR=... taskset -c 0 python experiments/api_floor.py --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from fraud_mlops import config as config_module
from fraud_mlops.api_bench import history_and_replay
from fraud_mlops.data import load_handbook
from fraud_mlops.online import SQLiteStore
from fraud_mlops.protocol import handbook_split
from fraud_mlops.schema import AMOUNT, CUSTOMER, TERMINAL, TIME, TX_ID
from fraud_mlops.serve import Model, Settings, TransactionBody, create_app, load_served
from mlshared.service import json_response, protected_router


async def call(app: Any, method: str, path: str, body: bytes = b"") -> int:
    """One request through the whole ASGI stack (every middleware), as uvicorn would hand it over."""
    headers = [(b"host", b"bench"), (b"content-type", b"application/json")]
    if body:
        headers.append((b"content-length", str(len(body)).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {}}  # fmt: skip
    delivered, status = False, list[int]()

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # pragma: no cover - a handler that waits for a disconnect
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    return int(status[0])


def transaction(row: dict[str, Any]) -> dict[str, Any]:
    return {"transaction_id": row[TX_ID], "tx_datetime": row[TIME].isoformat(), "customer_id": row[CUSTOMER],
            "terminal_id": row[TERMINAL], "amount": row[AMOUNT]}  # fmt: skip


async def measure(rounds: int, per_round: int) -> dict[str, list[float]]:
    cfg = config_module.load(Path("params.yaml"), "full", None)
    log = load_handbook()
    history, replay = history_and_replay(log, handbook_split(cfg.protocol).test_start, cfg.features.windows)
    work = Path(tempfile.mkdtemp(prefix="api-floor-"))
    store = SQLiteStore(work / "state.sqlite")
    store.bulk_load(history)
    store.close()
    settings = Settings(
        model_path=Path("models/model.joblib"), state_path=work / "state.sqlite", prediction_log=work / "p.jsonl",
        access_log=False, api_key=None, log_level="warning", max_lateness_s=3600,
    )  # fmt: skip
    app = create_app(settings, load_served(settings))
    floor = protected_router()

    @floor.post("/parse-only")
    async def parse_only(request: Request, item: TransactionBody, served: Model) -> Response:
        return json_response({"transaction_id": item.transaction_id})

    app.include_router(floor)
    rows = replay.head(300 + rounds * per_round).iter_rows(named=True)
    bodies = [json.dumps(transaction(r)).encode() for r in rows]
    results: dict[str, list[float]] = {"health": [], "parse_only": [], "predict": []}
    async with app.router.lifespan_context(app):
        nxt = iter(bodies)
        for body in bodies[:300]:  # warm-up: first-call paths, caches
            await call(app, "POST", "/predict", next(nxt))
            await call(app, "POST", "/parse-only", body)
            await call(app, "GET", "/health")
        for _ in range(rounds):
            for name, method, path in (("health", "GET", "/health"), ("parse_only", "POST", "/parse-only"),
                                       ("predict", "POST", "/predict")):  # fmt: skip
                start = time.perf_counter()
                for _ in range(per_round):
                    body = next(nxt) if name == "predict" else bodies[0] if method == "POST" else b""
                    assert await call(app, method, path, body) == 200
                results[name].append((time.perf_counter() - start) / per_round * 1e6)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=1000)
    args = parser.parse_args()
    results = asyncio.run(measure(args.rounds, args.per_round))
    health = results["health"]
    for name, us in results.items():
        ratios = [h / u for h, u in zip(health, us, strict=True)]
        print(f"{name:<11} median {statistics.median(us):7.0f} us a request  "
              f"/health's throughput share: median {statistics.median(ratios):.0%} (rounds "
              f"{', '.join(f'{r:.0%}' for r in ratios)})")  # fmt: skip


if __name__ == "__main__":
    main()
