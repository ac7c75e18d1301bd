"""`fraud-mlops bench --part api`: wrk against the real service process (`fraud-mlops serve`), SQLite and Redis state.

Servers of the same model run side by side, one per online-state backend (a real redis-server for the
second) and one that explains every answer, each warm-started with the handbook's transactions of the 37 days
(longest window + label delay) before the replay day, as a live system would be. wrk then replays the
following days' real transactions in time order through `POST /predict`: a Lua generator sends each
transaction once (fresh ids and shifted times if the replay wraps around), so every request is scored and
written to the store, as in production, and a 409 would show up as a non-2xx. `/health` and `/predict` of
the same server alternate in interleaved rounds, so the throughput ratio is measured within one run on the
same machine state (`mlshared.loadtest`).
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from fraud_mlops.features import Windows
from fraud_mlops.online import RedisStore, SQLiteStore
from fraud_mlops.schema import AMOUNT, CUSTOMER, TERMINAL, TIME, TX_ID
from mlshared.console import console
from mlshared.loadtest import can_pin, get_json, median_ratio, median_round, pinned, round_ratios, run_wrk
from mlshared.reports import ResultsTable, markdown_table
from mlshared.servers import free_port, redis_server, serve

# The served configurations: the default (reasons for blocks only) on each backend, and every answer explained.
SERVERS: dict[str, dict[str, str]] = {
    "sqlite": {},
    "redis": {"FRAUD_REDIS_URL": "set below"},
    "sqlite_reasons_all": {"FRAUD_REASONS": "all"},
}
DEFAULTS = ("sqlite", "redis")
LATENESS_S = 3600
TARGET_P99_MS = 25.0
TARGET_RATIO = 0.5
REPLAY_DAYS = 3
ID_STRIDE = 100_000_000  # ids of a wrapped-around replay: beyond every real transaction id

# Each request() sends the next transaction of the replay; `sent` counts them (read by the summary hook) and
# `init` receives where the previous round stopped, so no id is ever sent twice to the same server.
REPLAY_LUA = """
local rows = {}
for id, t, c, term, amount in string.gmatch([==[%(rows)s]==], "(%%d+),(%%d+),(%%d+),(%%d+),([%%d.]+)\\n") do
  rows[#rows + 1] = {tonumber(id), tonumber(t), tonumber(c), tonumber(term), amount}
end
local n, span, stride = #rows, %(span)d, %(stride)d
local start = 0
sent = 0
init = function(args) start = tonumber(args[1]) or 0 end
request = function()
  local i = start + sent
  sent = sent + 1
  local cycle = math.floor(i / n)
  local r = rows[(i %% n) + 1]
  local body = string.format(
    '{"transaction_id":%%d,"tx_datetime":"%%s","customer_id":%%d,"terminal_id":%%d,"amount":%%s}',
    r[1] + cycle * stride, os.date("!%%Y-%%m-%%dT%%H:%%M:%%S", r[2] + cycle * span), r[3], r[4], r[5])
  return wrk.format("POST", nil, nil, body)
end
"""


def history_and_replay(log: pl.DataFrame, start: date, windows: Windows) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The warm-start history (the longest window + the label delay before `start`) and `REPLAY_DAYS` to replay."""
    days = windows.lookback
    begin = datetime.combine(start, time())
    history = log.filter(pl.col(TIME).is_between(begin - timedelta(days=days), begin, closed="left"))
    replay = log.filter(pl.col(TIME).is_between(begin, begin + timedelta(days=REPLAY_DAYS), closed="left"))
    if history.is_empty() or replay.is_empty():
        raise ValueError(f"the log has no transactions around {start}: pick a replay day inside it")
    return history, replay.sort([TIME, TX_ID])


def replay_lua(replay: pl.DataFrame) -> str:
    values: list[int] = replay[TIME].cast(pl.Datetime("us")).dt.epoch("s").to_list()
    lines = [
        f"{i},{t},{c},{term},{a:.2f}\n"
        for i, t, c, term, a in zip(
            replay[TX_ID], values, replay[CUSTOMER], replay[TERMINAL], replay[AMOUNT], strict=True
        )
    ]
    span = max(values) - min(values) + 60
    return REPLAY_LUA % {"rows": "".join(lines), "span": span, "stride": ID_STRIDE}


@contextmanager
def _server(model: Path, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    command = pinned([sys.executable, "-m", "fraud_mlops", "serve", "--port", str(port), "--model", str(model)], 0)
    with serve(command, port, ready_path="/ready", env=env) as server:
        yield server.base_url


def run_api_bench(
    model: Path, log: pl.DataFrame, start: date, windows: Windows, duration: int = 4, connections: int = 8,
    rounds: int = 5,
) -> dict[str, Any]:  # fmt: skip
    """Every server in `SERVERS`, `rounds` interleaved rounds of /health and /predict each; the median round of each."""
    history, replay = history_and_replay(log, start, windows)
    lua = replay_lua(replay)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="fraud-bench-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        # The replay runs ~1,000x faster than the data's clock, so 8 requests in flight span minutes of it: the
        # lateness tolerance is raised to an hour, or a night-time gap would turn a reordered pair into a 409.
        quiet = {"FRAUD_ACCESS_LOG": "false", "FRAUD_API_KEY": "", "FRAUD_LOG_LEVEL": "warning",
                 "FRAUD_MAX_LATENESS_S": str(LATENESS_S)}  # fmt: skip
        # redis-server is part of the system under test: on the server's core, leaving wrk a core of its own
        # (docs/experiments.md section 11).
        redis_url = stack.enter_context(redis_server(work / "redis", pinned([], 0)))
        urls: dict[str, str] = {}
        for name, extra in SERVERS.items():
            env = quiet | extra | {"FRAUD_STATE_PATH": str(work / f"{name}.sqlite"),
                                   "FRAUD_PREDICTION_LOG": str(work / f"{name}-predictions.jsonl")}  # fmt: skip
            redis = "FRAUD_REDIS_URL" in extra
            with console.status(f"Loading {history.height:,} transactions of history for {name}"):
                store = RedisStore(redis_url) if redis else SQLiteStore(work / f"{name}.sqlite")
                store.bulk_load(history)
                store.close()
            if redis:
                env["FRAUD_REDIS_URL"] = redis_url
            with console.status(f"Starting the {name} server"):
                urls[name] = stack.enter_context(_server(model, env))
        served = get_json(urls["sqlite"] + "/model")
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {b: {"health": [], "predict": []} for b in urls}
        offset = dict.fromkeys(urls, 0)

        def predict(backend: str, seconds: int) -> dict[str, Any]:
            result = run_wrk(urls[backend] + "/predict", "POST", None, seconds, connections, work, lua=lua,
                             args=[str(offset[backend])])  # fmt: skip
            offset[backend] += int(result.get("sent", 0))
            return result

        for backend in urls:  # warm-up: imports, first-call paths, caches
            predict(backend, 2)
        for r in range(rounds):
            for backend in urls:
                label = f"round {r + 1}/{rounds}, {backend}: wrk"
                with console.status(f"{label} GET /health, {duration} s"):
                    runs[backend]["health"].append(
                        run_wrk(urls[backend] + "/health", "GET", None, duration, connections, work)
                    )
                with console.status(f"{label} POST /predict, {duration} s"):
                    runs[backend]["predict"].append(predict(backend, duration))
    report: dict[str, Any] = {}
    for backend, by_path in runs.items():
        report[backend] = {
            "health": median_round(by_path["health"]),
            "predict": median_round(by_path["predict"]),
            "predict_vs_health_throughput": median_ratio(by_path["predict"], by_path["health"]),
            "predict_vs_health_rounds": round_ratios(by_path["predict"], by_path["health"]),
            "transactions_scored": offset[backend],
        }
    errors = sum(r["errors"] + r["non_2xx"] for b in runs.values() for rs in b.values() for r in rs)
    report |= {
        "targets": {"p99_ms": TARGET_P99_MS, "predict_vs_health_throughput": TARGET_RATIO},
        "met": {
            backend: report[backend]["predict"]["p99_ms"] < TARGET_P99_MS
            and report[backend]["health"]["p99_ms"] < TARGET_P99_MS
            and report[backend]["predict_vs_health_throughput"] >= TARGET_RATIO
            for backend in DEFAULTS
        },
        "errors": errors,
        "setup": {
            "server": "`fraud-mlops serve` (uvicorn, 1 worker, access log off), one per backend, same model",
            "model": f"{served['name']} on the {served['feature_set']} features ({served['version']}, "
            f"{served['trained_on']})",
            "state": f"warm-started with {history.height:,} transactions before {start} (longest window + label "
            f"delay); /predict replays the {replay.height:,} transactions of {start} and the next "
            f"{REPLAY_DAYS - 1} days in time order, each sent once (FRAUD_MAX_LATENESS_S={LATENESS_S}: the replay "
            "is ~1,000x faster than the data's clock)",
            "reasons": "sqlite and redis: FRAUD_REASONS=blocked (the default: exact TreeSHAP for blocks only); "
            "sqlite_reasons_all: every answer explained",
            "load": f"wrk -t1 -c{connections}, {rounds} interleaved rounds of {duration} s per endpoint "
            f"(median-throughput round reported; ratios: median of per-round ratios)",
            "pinning": "servers and redis-server on CPU 0, wrk on CPU 1 (taskset)" if can_pin() else "none",
            "load_average_1min": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
    }
    for backend in runs:
        for path in ("health", "predict"):
            r = report[backend][path]
            console.print(
                f"  {backend:<6} {path:<8} {r['requests_per_s']:>8,.0f} req/s  p50 {r['p50_ms']:.2f} ms  "
                f"p99 {r['p99_ms']:.2f} ms  errors {r['errors'] + r['non_2xx']}"
            )
        console.print(
            f"  {backend:<6} /predict = {report[backend]['predict_vs_health_throughput']:.0%} of /health's throughput"
        )
    return report


def api_markdown(api: dict[str, Any]) -> str:
    """The README's API benchmark block, from reports/bench.json's `api` section."""
    t = api["targets"]
    rows: list[list[str]] = []
    labels = {"sqlite": "SQLite", "redis": "Redis", "sqlite_reasons_all": "SQLite, every answer explained"}
    for backend, label in labels.items():
        if backend not in api:
            continue
        for path, name in (("health", "GET /health"), ("predict", "POST /predict")):
            r = api[backend][path]
            rows.append([label, name, f"{r['requests_per_s']:,.0f}", f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}",
                         str(r["errors"] + r["non_2xx"])])  # fmt: skip
    ratios = "; ".join(
        f"{backend}: **{api[backend]['predict_vs_health_throughput']:.0%}** (rounds "
        f"{', '.join(f'{x:.0%}' for x in api[backend]['predict_vs_health_rounds'])})"
        for backend in labels
        if backend in api
    )
    verdict = ", ".join(f"{b} {'met' if ok else 'missed'}" for b, ok in api["met"].items())
    s = api["setup"]
    load = s["load_average_1min"]
    caption = (
        f"`/predict` throughput as a share of `/health`'s on the same server "
        f"(target ≥ {t['predict_vs_health_throughput']:.0%}): "
        f"{ratios}. Targets (p99 < {t['p99_ms']:g} ms on both endpoints and the ratio): {verdict}. "
        f"{s['load']}; {s['server']}; {s['pinning']}; model {s['model']}; state {s['state']}; reasons: "
        f"{s.get('reasons', 'every answer')}. "
        f"{s['cpus']} CPUs, 1-minute load average {load['before']} before and {load['after']} after (the machine is "
        f"shared: absolute figures swing with it, the paired ratios less); {api['generated_at']}."
    )
    columns = ["state", "endpoint", "req/s", "p50 ms", "p99 ms", "errors"]
    return markdown_table(ResultsTable(columns=columns, rows=rows, caption=caption))
