"""Experiment: what a hostile 92 MB batch does to the running service (the issue's hostile-input run).

Starts `churn-api serve` on a free port, then posts a ~92 MB JSON batch, as one body with its
Content-Length and as a chunked stream, and four chunked ones in parallel, reading the server's
resident memory (/proc) before, at its peak (sampled every 20 ms) and after. Before the chassis,
the body was parsed and validated before the row check answered 413: 2.7 s, RSS 254 -> 1,252 MB.

    .venv/bin/python projects/churn-api/experiments/oversize_body.py --model PATH
"""

from __future__ import annotations

import argparse
import select
import socket
import sys
import threading
import time
from pathlib import Path

from churn_api.api_models import EXAMPLE
from mlshared.servers import free_port, serve

MB = 1_000_000


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) / 1024


def post(port: int, body: bytes, chunked: bool) -> tuple[int, float, int]:
    """(status, seconds to the answer, bytes sent before it): send until the server answers."""
    head = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
    request = f"POST /predict/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{head}\r\n\r\n"
    start = time.perf_counter()
    sent = 0
    step = 256 * 1024
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(request.encode())
        while sent < len(body):
            readable, _, _ = select.select([sock], [sock], [], 60)
            if readable:
                break
            piece = body[sent : sent + step]
            frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
            try:
                sock.sendall(frame)
            except OSError:  # the server answered and closed while we were sending
                break
            sent += len(piece)
        answer = sock.recv(4096)
    return int(answer.split()[1]), time.perf_counter() - start, sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    args = parser.parse_args()
    row = repr(EXAMPLE).replace("'", '"').encode()
    body = b'{"customers": [' + b",".join([row] * (92 * MB // len(row))) + b"]}"
    port = free_port()
    command = [sys.executable, "-m", "churn_api", "serve", "--port", str(port), "--model", str(args.model)]
    with serve(command, port, ready_path="/ready", env={"CHURN_ACCESS_LOG": "false", "CHURN_API_KEY": ""}) as server:
        pid = server.process.pid
        for label, chunked, parallel in (("Content-Length", False, 1), ("chunked", True, 1), ("4 x chunked", True, 4)):
            before = rss_mb(pid)
            peak = [before]
            done = threading.Event()

            def sample(peak: list[float] = peak, done: threading.Event = done) -> None:
                while not done.is_set():
                    peak[0] = max(peak[0], rss_mb(pid))
                    time.sleep(0.02)

            sampler = threading.Thread(target=sample)
            sampler.start()
            results: list[tuple[int, float, int]] = []

            def one(results: list[tuple[int, float, int]] = results, chunked: bool = chunked) -> None:
                results.append(post(port, body, chunked))

            threads = [threading.Thread(target=one) for _ in range(parallel)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            done.set()
            sampler.join()
            statuses = sorted({r[0] for r in results})
            slowest = max(r[1] for r in results)
            sent = max(r[2] for r in results) / MB
            print(
                f"{label}: {len(body) / MB:.0f} MB body -> {statuses} in {slowest:.2f} s after {sent:.1f} MB sent; "
                f"server RSS {before:.0f} MB before, peak {peak[0]:.0f} MB, after {rss_mb(pid):.0f} MB"
            )


if __name__ == "__main__":
    main()
