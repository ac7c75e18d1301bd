"""HTTP load tests with wrk (Debian's load generator) against a real server process, shared by the APIs' benches.

wrk's own report rounds percentiles; its Lua `done` hook has the exact latency histogram, so every script
ends with a hook that prints one `BENCH {...}` JSON line, parsed here. A script either sends one fixed
request (`method` and `body`) or generates each request itself (`lua`: a `request()` function that counts
what it sent in the global `sent`, so the caller knows how many were issued, including those still in flight
when wrk stopped, plus the one that wrk generates per thread to check the script and never sends; wrk's
`init(args)` receives `args`). One wrk thread (`-t1`) keeps a generated stream in
order and its counter exact.

Paired rounds: a VM's speed drifts over minutes, so benches interleave their endpoints in rounds and report
ratios per round (`round_ratios`, `median_ratio`) rather than ratios of separate runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlshared.console import UserError

SUMMARY_LUA = """
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  local e = summary.errors
  local sent = 0
  for _, t in ipairs(threads) do sent = sent + (t:get("sent") or 0) end
  io.write(string.format(
    "BENCH {\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, \\"p90_us\\": %d, \\"p99_us\\": %d, "
    .. "\\"max_us\\": %d, \\"errors\\": %d, \\"non_2xx\\": %d, \\"sent\\": %d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.timeout, e.status, sent))
end
"""


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise UserError(
            "wrk is not installed.", hint="Install Debian's wrk package: `make system-deps` (or apt-get install wrk)."
        )
    return path


def can_pin() -> bool:
    return (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None


def pinned(command: Sequence[str], cpu: int) -> list[str]:
    """Server on one core, wrk on the other: without pinning the scheduler moves them around and
    one process sometimes lands on the other's core, which made rounds differ by up to 40%."""
    return ["taskset", "-c", str(cpu), *command] if can_pin() else list(command)


def wrk_script(
    method: str = "GET", body: str | None = None, headers: Mapping[str, str] | None = None, lua: str = ""
) -> str:
    """A wrk script: fixed `method`/`body`/`headers`, or `lua` code that defines `request()` (and `init(args)`)."""
    lines = [f'wrk.method = "{method}"', 'wrk.headers["Content-Type"] = "application/json"']
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in (headers or {}).items()]
    if body:
        lines.append(f"wrk.body = [==[{body}]==]")
    return "\n".join([*lines, lua, SUMMARY_LUA])


def parse_summary(stdout: str) -> dict[str, Any]:
    """The `BENCH` line of a wrk run as requests, requests/s and latency percentiles in milliseconds."""
    line = next((ln for ln in stdout.splitlines() if ln.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{stdout}")
    raw = json.loads(line.removeprefix("BENCH "))
    seconds = raw["duration_us"] / 1e6
    out: dict[str, Any] = {
        "requests": raw["requests"],
        "requests_per_s": round(raw["requests"] / seconds, 1) if seconds > 0 else 0.0,
        "p50_ms": round(raw["p50_us"] / 1000, 3),
        "p90_ms": round(raw["p90_us"] / 1000, 3),
        "p99_ms": round(raw["p99_us"] / 1000, 3),
        "max_ms": round(raw["max_us"] / 1000, 3),
        "errors": raw["errors"],
        "non_2xx": raw["non_2xx"],
    }
    if raw.get("sent"):
        out["sent"] = raw["sent"]
    return out


def run_wrk(
    url: str,
    method: str,
    body: str | None,
    duration: int,
    connections: int,
    workdir: Path,
    headers: Mapping[str, str] | None = None,
    *,
    lua: str = "",
    args: Sequence[str] = (),
    timeout_s: float = 5.0,
) -> dict[str, Any]:
    """One wrk run (one thread, `connections` connections, `duration` s) on CPU 1 when pinning is possible."""
    text = wrk_script(method, body, headers, lua)
    script = workdir / f"wrk-{hashlib.sha1(text.encode()).hexdigest()[:12]}.lua"
    if not script.is_file():
        script.write_text(text, encoding="utf-8")
    command = [wrk_path(), "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", f"{timeout_s:g}s", "-s",
               str(script), url]  # fmt: skip
    if args:
        command += ["--", *args]
    out = subprocess.run(pinned(command, 1), capture_output=True, text=True, check=True)
    try:
        return parse_summary(out.stdout)
    except RuntimeError as error:
        raise RuntimeError(f"{error}\n{out.stderr}") from error


def round_ratios(numerator: Sequence[Mapping[str, Any]], denominator: Sequence[Mapping[str, Any]]) -> list[float]:
    """Throughput ratio of two endpoints per interleaved round."""
    return [round(n["requests_per_s"] / d["requests_per_s"], 3) for n, d in zip(numerator, denominator, strict=True)]


def median_ratio(numerator: Sequence[Mapping[str, Any]], denominator: Sequence[Mapping[str, Any]]) -> float:
    return round(float(np.median(round_ratios(numerator, denominator))), 3)


def median_round(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The round with the median throughput (its latencies belong to one run), plus every round's throughput."""
    ordered = sorted(runs, key=lambda x: x["requests_per_s"])
    return dict(ordered[len(ordered) // 2]) | {"rounds_requests_per_s": [x["requests_per_s"] for x in runs]}


def get_json(url: str, headers: Mapping[str, str] | None = None, timeout_s: float = 10.0) -> dict[str, Any]:
    request = urllib.request.Request(url, headers=dict(headers or {}))
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return dict(json.loads(response.read()))


__all__ = [
    "can_pin", "get_json", "median_ratio", "median_round", "parse_summary", "pinned", "round_ratios", "run_wrk",
    "wrk_path", "wrk_script",
]  # fmt: skip
