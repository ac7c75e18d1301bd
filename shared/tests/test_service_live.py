"""The chassis as a real uvicorn process, spoken to over raw sockets: what only a server shows.

An oversize body is refused while it streams (the server's memory stays flat), a client that
hangs up mid-body is a client abort (counted, one JSON log line, no 500, no traceback) and a body
that trickles in is cut off by the read timeout.
"""

from __future__ import annotations

import json
import select
import socket
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from pydantic import BaseModel

from mlshared.servers import RunningServer, free_port, serve
from mlshared.service import ServiceSettings, build_app, json_body, protected_router

pytestmark = [pytest.mark.slow, pytest.mark.live]

MIB = 1024 * 1024
LIMIT = 1 * MIB
HUGE = 100 * MIB  # the hostile run sent 92 MB


class Items(BaseModel):
    items: list[dict[str, int]]


router = protected_router()


@router.post("/many")
async def many(body: Annotated[Items, Depends(json_body(Items))]) -> dict[str, int]:
    return {"n": len(body.items)}


@router.post("/typed")
async def typed(body: Items) -> dict[str, int]:
    """FastAPI's own typed body: the limits apply to it too."""
    return {"n": len(body.items)}


def create_app() -> FastAPI:
    """What the server process runs (settings from SERVICE_* variables)."""
    return build_app(ServiceSettings(), router, title="toy-live", version="0", model_name="none", model=object())


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "--app-dir", str(Path(__file__).parent), "test_service_live:create_app",
        "--factory", "--port", str(port), "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    env = {"SERVICE_MAX_BODY_BYTES": str(LIMIT), "SERVICE_BODY_TIMEOUT_S": "2", "SERVICE_ACCESS_LOG": "false"}
    with serve(command, port, ready_path="/ready", env=env) as running:
        yield running


def _connect(server: RunningServer) -> socket.socket:
    host, port = server.base_url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def _head(path: str, extra: str) -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n{extra}\r\n".encode()


def _answer(sock: socket.socket, timeout_s: float = 10.0) -> tuple[int, dict[str, object]]:
    sock.settimeout(timeout_s)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    )
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split()[1]), json.loads(body)


def rss(pid: int) -> int:
    """Resident memory of a process in bytes (Linux /proc; where the tests run)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) * 1024


def _metrics(server: RunningServer) -> str:
    with urllib.request.urlopen(server.base_url + "/metrics", timeout=10) as response:
        return str(response.read().decode())


@pytest.mark.parametrize("path", ["/many", "/typed"])
def test_oversize_streamed_body_is_refused_early_and_memory_stays_flat(server: RunningServer, path: str) -> None:
    pid = server.process.pid
    before = rss(pid)
    chunk = b"[" + b"1," * (32 * 1024)  # 64 KiB of a JSON array that never ends
    answered_after = None
    with _connect(server) as sock:
        sock.sendall(_head(path, "Transfer-Encoding: chunked\r\n"))  # no length: counted as it streams
        sent = 0
        peak = before
        while sent < HUGE:
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sent += len(chunk)
            peak = max(peak, rss(pid)) if sent % (4 * MIB) < len(chunk) else peak
            if select.select([sock], [], [], 0)[0]:  # the server answered while we were still sending
                answered_after = sent
                break
        status, body = _answer(sock)
    assert status == 413 and "1,048,576 bytes" in str(body["message"])
    assert answered_after is not None and answered_after < 8 * MIB, answered_after
    growth = max(peak, rss(pid)) - before
    print(f"answered after {answered_after / MIB:.1f} MiB sent; server RSS growth {growth / MIB:.1f} MiB")
    assert growth < 20 * MIB, f"server RSS grew by {growth / MIB:.1f} MiB"


def test_declared_oversize_body_is_refused_before_it_is_sent(server: RunningServer) -> None:
    with _connect(server) as sock:
        sock.sendall(_head("/many", f"Content-Length: {HUGE}\r\n"))
        status, body = _answer(sock)
    assert status == 413 and body["request_id"]


def test_client_abort_is_counted_and_logged_once_not_a_500(server: RunningServer) -> None:
    def aborts() -> float:
        line = next(x for x in _metrics(server).splitlines() if x.startswith("http_client_aborts_total"))
        return float(line.split()[-1])

    before = aborts()
    with _connect(server) as sock:
        sock.sendall(_head("/many", "Content-Length: 1000\r\n") + b'{"items": [')
        time.sleep(0.3)
    deadline = time.monotonic() + 10
    while aborts() == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert aborts() == before + 1
    text = _metrics(server)
    assert 'status="500"' not in text
    assert 'http_requests_total{handler="/many",method="POST",status="499"}' in text
    log = server.log()
    assert "Traceback" not in log
    lines = [json.loads(line) for line in log.splitlines() if "client aborted" in line]
    assert len(lines) == 1 and lines[0]["path"] == "/many" and lines[0]["request_id"]


def test_a_trickling_body_is_cut_off_by_the_read_timeout(server: RunningServer) -> None:
    with _connect(server) as sock:
        sock.sendall(_head("/many", "Content-Length: 1000\r\n") + b'{"items": [')
        started = time.monotonic()
        status, body = _answer(sock, timeout_s=15)
    assert status == 408 and "2 s" in str(body["message"])
    assert time.monotonic() - started < 10
