"""Experiment: what the shared service chassis costs against churn-api's hand-written serving stack.

The chassis replaced churn-api's own ASGI middleware (request id, one counter and one histogram,
access log) with asgi-correlation-id, prometheus-fastapi-instrumentator and the body guard, and its
hand-parsed /predict body with a FastAPI typed body. This runs both versions of the service on the
same model, pinned to the same core, and drives /health and /predict with wrk in interleaved rounds
(the per-round ratio new/old cancels this VM's drift), then /health on each while 10,000-row batches
arrive back to back. The old version is the churn-api source at
`--old-commit`, extracted with `git archive` and put first on PYTHONPATH.

    .venv/bin/python projects/churn-api/experiments/chassis_overhead.py --model PATH [--rounds 5 --duration 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from contextlib import ExitStack
from io import BytesIO
from pathlib import Path

import numpy as np

from churn_api.api_models import EXAMPLE
from churn_api.bench import health_under_batch_load
from mlshared.loadtest import pinned, run_wrk
from mlshared.servers import free_port, serve

REPO = Path(__file__).resolve().parents[3]
OLD_COMMIT = "5bbfb35"  # the last commit with churn-api's hand-written serving stack


def extract_old(commit: str, target: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit, "projects/churn-api/src"], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target / "projects" / "churn-api" / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--old-commit", default=OLD_COMMIT)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    single = json.dumps(EXAMPLE)
    env = {"CHURN_ACCESS_LOG": "false", "CHURN_API_KEY": "", "CHURN_MODEL_PATH": str(args.model.resolve())}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        old_src = extract_old(args.old_commit, Path(tmp) / "old")
        urls = {}
        for name, extra in (("old", {"PYTHONPATH": str(old_src)}), ("new", {})):
            port = free_port()
            command = pinned([sys.executable, "-m", "uvicorn", "churn_api.serve:create_app", "--factory",
                              "--port", str(port), "--no-access-log", "--log-level", "warning"], 0)  # fmt: skip
            urls[name] = stack.enter_context(serve(command, port, ready_path="/ready", env=env | extra)).base_url
            run_wrk(urls[name] + "/predict", "POST", single, 2, args.connections, Path(tmp))  # warm-up
        runs: dict[str, list[float]] = {}
        for r in range(args.rounds):
            for name in ("old", "new"):
                for path, method, body in (("/health", "GET", None), ("/predict", "POST", single)):
                    result = run_wrk(urls[name] + path, method, body, args.duration, args.connections, Path(tmp))
                    runs.setdefault(f"{name} {path}", []).append(result["requests_per_s"])
                    print(
                        f"round {r + 1} {name} {path}: {result['requests_per_s']:,.0f} req/s p99 {result['p99_ms']} ms"
                    )
        probes = {name: health_under_batch_load(urls[name], 2 * args.duration, Path(tmp)) for name in urls}
    for path in ("/health", "/predict"):
        ratios = [n / o for n, o in zip(runs[f"new {path}"], runs[f"old {path}"], strict=True)]
        old, new = np.median(runs[f"old {path}"]), np.median(runs[f"new {path}"])
        each = ", ".join(f"{x:.0%}" for x in ratios)
        print(f"{path}: old {old:,.0f} req/s, new {new:,.0f} req/s; new/old median {np.median(ratios):.0%} ({each})")
    for name, probe in probes.items():
        health, batches = probe["health"], probe["batches"]
        print(
            f"{name}: /health p99 {health['p99_ms']} ms (p50 {health['p50_ms']} ms) while "
            f"{batches['rows_per_request']:,}-row batches arrive back to back ({batches['requests']} scored)"
        )


if __name__ == "__main__":
    main()
