"""Load benchmark: the real server processes driven by wrk (Debian's HTTP load generator) from another process.

One run measures `/health` (the framework floor: routing, chassis middleware, JSON), `/predict` and
`/predict/batch` for both scoring paths (the compiled engine and XGBoost's own predict), `/predict`
with the API key on, and `/health` while 10,000-row batches arrive, so the ratios are meaningful
whatever the machine. wrk reports exact latency percentiles through a Lua `done` hook; the numbers
go to `reports/bench.json`.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from churn_api.api_models import EXAMPLE
from churn_api.data import load_customers
from churn_api.schema import FEATURES, ID
from mlshared.console import console
from mlshared.loadtest import can_pin, get_json, median_ratio, pinned, round_ratios, run_wrk, wrk_path, wrk_script
from mlshared.servers import free_port, serve

BATCH_ROWS = 1000


def batch_body(rows: int) -> str:
    """A batch of `rows` real customers (the IBM file from the top, Churn removed; repeated past its 7,043)."""
    frame = load_customers().frame
    frame = frame.iloc[np.arange(rows) % len(frame)]
    records = frame[[ID, *FEATURES]].to_dict(orient="records")
    return json.dumps({"customers": records})


KEY = "bench-key-ü"  # non-ASCII on purpose: the key check compares bytes
PROBE_BATCH_ROWS = 10_000


def run_bench(model: Path, output: Path, duration: int = 4, connections: int = 8, rounds: int = 7) -> dict[str, Any]:
    """Three servers of the same model on one core: `auto` scoring (the compiled engine when the
    model allows it), forced `xgboost` scoring, and `auto` with an API key. `rounds` interleaved wrk
    rounds over their endpoints; each endpoint reports its median-throughput round (this VM's speed
    drifts over minutes, and interleaving exposes every endpoint to the same drift). Then /health
    under back-to-back 10,000-row batches: the probe latency a load balancer sees during batch load."""
    from churn_api.predictor import ChurnPredictor

    ChurnPredictor.load(model)  # the "train first" message, before starting anything
    single = json.dumps(EXAMPLE)
    batch = batch_body(BATCH_ROWS)
    key_header = {"X-API-Key": KEY}
    servers = {
        "auto": {"CHURN_SCORING": "auto", "CHURN_API_KEY": ""},
        "xgboost": {"CHURN_SCORING": "xgboost", "CHURN_API_KEY": ""},
        "key": {"CHURN_SCORING": "auto", "CHURN_API_KEY": KEY},
    }
    # (name, server, path, method, body, connections, headers)
    plan: list[tuple[str, str, str, str, str | None, int, dict[str, str]]] = [
        ("health", "auto", "/health", "GET", None, connections, {}),
        ("predict", "auto", "/predict", "POST", single, connections, {}),
        ("predict_key", "key", "/predict", "POST", single, connections, key_header),
        ("batch", "auto", "/predict/batch", "POST", batch, 2, {}),
        ("predict_xgboost", "xgboost", "/predict", "POST", single, connections, {}),
        ("batch_xgboost", "xgboost", "/predict/batch", "POST", batch, 2, {}),
    ]
    runs: dict[str, list[dict[str, float]]] = {name: [] for name, *_ in plan}
    scoring: dict[str, str] = {}
    served = ""
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        work = Path(tmp)
        urls = {}
        for name, env in servers.items():
            port = free_port()
            command = pinned(
                [sys.executable, "-m", "churn_api", "serve", "--port", str(port), "--model", str(model)], 0
            )
            with console.status(f"starting the {name} server"):
                server = stack.enter_context(serve(command, port, ready_path="/ready", env=env | QUIET))
            urls[name] = server.base_url
            headers = key_header if name == "key" else {}
            info = get_json(server.base_url + "/model", headers)
            scoring[name], served = str(info["scoring"]), str(info["model"])
            run_wrk(server.base_url + "/predict", "POST", single, 2, connections, work, headers)  # warm-up
        for r in range(rounds):
            for name, server_name, path, method, body, conns, headers in plan:
                with console.status(f"round {r + 1}/{rounds}: wrk {method} {path} ({server_name}), {duration} s"):
                    runs[name].append(run_wrk(urls[server_name] + path, method, body, duration, conns, work, headers))
        with console.status(f"/health while {PROBE_BATCH_ROWS:,}-row batches arrive back to back"):
            under_load = health_under_batch_load(urls["auto"], duration * 2, work)
    results: dict[str, Any] = {
        name: sorted(rs, key=lambda x: x["requests_per_s"])[len(rs) // 2]
        | {"rounds_requests_per_s": [x["requests_per_s"] for x in rs]}
        for name, rs in runs.items()
    }
    for name in ("batch", "batch_xgboost"):
        results[name]["rows_per_request"] = BATCH_ROWS
        results[name]["rows_per_s"] = round(results[name]["requests_per_s"] * BATCH_ROWS, 0)
    results["health_under_batch_load"] = under_load
    # Paired design: each round measures the endpoints seconds apart, so per-round ratios cancel this
    # VM's drift (single runs swing by +-25%); the median round ratio is the result.
    summary = {
        "scoring_auto": scoring["auto"],
        "predict_vs_health_throughput": median_ratio(runs["predict"], runs["health"]),
        "predict_vs_health_rounds": round_ratios(runs["predict"], runs["health"]),
        "key_on_vs_off_throughput": median_ratio(runs["predict_key"], runs["predict"]),
        "key_on_vs_off_rounds": round_ratios(runs["predict_key"], runs["predict"]),
        "xgboost_vs_auto_predict_throughput": median_ratio(runs["predict_xgboost"], runs["predict"]),
        "predict_p99_ms": results["predict"]["p99_ms"],
        "predict_key_p99_ms": results["predict_key"]["p99_ms"],
        "predict_xgboost_p99_ms": results["predict_xgboost"]["p99_ms"],
        "batch_rows_per_s": results["batch"]["rows_per_s"],
        "batch_xgboost_rows_per_s": results["batch_xgboost"]["rows_per_s"],
        "health_p99_under_batch_load_ms": under_load["health"]["p99_ms"],
        "any_errors": any(r["errors"] or r["non_2xx"] for name, r in results.items() if name in runs),
    }
    report = {
        "endpoints": results,
        "summary": summary,
        "targets": {
            "predict_vs_health_throughput": ">= 0.5",
            "predict_p99_ms": "< 20",
            "batch_rows_per_s": ">= 20000",
            "key_on_vs_off_throughput": ">= 0.9",
            "health_p99_under_batch_load_ms": "< 50",
        },
        "setup": {
            "server": "uvicorn, 1 worker (`churn-api serve`), access log off; scoring auto "
            f"(chose {scoring['auto']}), xgboost, and auto with CHURN_API_KEY",
            "load": f"wrk -t1, {rounds} interleaved rounds of {duration} s per endpoint (median round reported; "
            f"ratios: median of per-round ratios), {connections} connections (batch: 2), from another process",
            "pinning": "servers on CPU 0, wrk on CPU 1 (taskset)" if can_pin() else "none",
            "model": served,
            "load_average_1min": {"before": round(load_before, 1), "after": round(os.getloadavg()[0], 1)},
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
            "python": platform.python_version(),
        },
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for name, r in results.items():
        if name in runs:
            console.print(
                f"  {name:<16} {r['requests_per_s']:>9,.0f} req/s  p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms"
                f"  errors {r['errors'] + r['non_2xx']}"
            )
    console.print(
        f"/predict = {summary['predict_vs_health_throughput']:.0%} of /health ({scoring['auto']}); key on = "
        f"{summary['key_on_vs_off_throughput']:.0%} of key off; xgboost scoring = "
        f"{summary['xgboost_vs_auto_predict_throughput']:.0%} of auto; batch {summary['batch_rows_per_s']:,.0f} "
        f"rows/s (xgboost {summary['batch_xgboost_rows_per_s']:,.0f}); /health p99 under batch load "
        f"{summary['health_p99_under_batch_load_ms']:.1f} ms. Wrote {output}"
    )
    return report


QUIET = {"CHURN_ACCESS_LOG": "false", "CHURN_MODEL_URI": ""}


def health_under_batch_load(base_url: str, duration: int, workdir: Path) -> dict[str, Any]:
    """wrk posting 10,000-row batches back to back (2 connections) while another wrk probes /health (1 connection)."""
    body = batch_body(PROBE_BATCH_ROWS)
    script = workdir / "probe-batch.lua"
    script.write_text(wrk_script("POST", body), encoding="utf-8")
    load = subprocess.Popen(
        pinned([wrk_path(), "-t1", "-c2", f"-d{duration}s", "--timeout", "10s", "-s", str(script),
                base_url + "/predict/batch"], 1),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        health = run_wrk(base_url + "/health", "GET", None, max(duration - 1, 1), 1, workdir, {})
    finally:
        out, _ = load.communicate(timeout=duration + 30)
    line = next((ln for ln in out.splitlines() if ln.startswith("BENCH ")), "BENCH {}")
    raw = json.loads(line.removeprefix("BENCH "))
    batches = {"requests": raw.get("requests", 0), "rows_per_request": PROBE_BATCH_ROWS,
               "non_2xx": raw.get("non_2xx", 0), "errors": raw.get("errors", 0)}  # fmt: skip
    return {"health": health, "batches": batches}


def bench_markdown(report: dict[str, Any]) -> str:
    """The README's benchmark table (a generated block, checked by a test)."""
    rows = ["| endpoint | scoring | connections | req/s | p50 ms | p99 ms | errors |", "|---|---|---|---|---|---|---|"]
    s = report["summary"]
    auto = s.get("scoring_auto", "engine")
    for name, path, scoring, conns in (
        ("health", "GET /health", "-", 8),
        ("predict", "POST /predict", auto, 8),
        ("predict_key", "POST /predict, API key on", auto, 8),
        ("predict_xgboost", "POST /predict", "xgboost", 8),
        ("batch", "POST /predict/batch (1,000 rows)", auto, 2),
        ("batch_xgboost", "POST /predict/batch (1,000 rows)", "xgboost", 2),
    ):
        r = report["endpoints"][name]
        errors = r["errors"] + r["non_2xx"]
        rows.append(
            f"| {path} | {scoring} | {conns} | {r['requests_per_s']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
            f"| {errors} |"
        )
    probe = report["endpoints"]["health_under_batch_load"]
    load = report["setup"].get("load_average_1min", {})
    rows += [
        "",
        f"`/predict` throughput = **{s['predict_vs_health_throughput']:.0%}** of `/health` (target ≥ 50%; "
        f"per-round ratios {', '.join(f'{r:.0%}' for r in s['predict_vs_health_rounds'])}); "
        f"`/predict` p99 = **{s['predict_p99_ms']:.2f} ms** at 8 clients (target < 20 ms); batch scoring = "
        f"**{s['batch_rows_per_s']:,.0f} rows/s** (target ≥ 20,000). "
        f"With the API key on, `/predict` keeps **{s['key_on_vs_off_throughput']:.0%}** of its throughput "
        f"(per round {', '.join(f'{r:.0%}' for r in s['key_on_vs_off_rounds'])}), "
        f"p99 {s['predict_key_p99_ms']:.2f} ms. "
        f"XGBoost's own predict (the path for models the engine cannot compile): "
        f"**{s['xgboost_vs_auto_predict_throughput']:.0%}** of the {auto} path's `/predict` throughput, p99 "
        f"{s['predict_xgboost_p99_ms']:.2f} ms, batch {s['batch_xgboost_rows_per_s']:,.0f} rows/s. "
        f"`/health` p99 while {probe['batches']['rows_per_request']:,}-row batches arrive back to back: "
        f"**{s['health_p99_under_batch_load_ms']:.1f} ms** ({probe['batches']['requests']} batches scored). "
        f"{report['setup']['load']}; {report['setup']['server']}; {report['setup'].get('pinning', 'no pinning')}; "
        f"model {report['setup'].get('model', '?')}; {report['setup']['cpus']} CPUs, 1-minute load average "
        f"{load.get('before', '?')} before and {load.get('after', '?')} after (other jobs share this machine: "
        f"absolute figures swing with it, the paired ratios less); {report['generated_at']}.",
    ]
    return "\n".join(rows)
