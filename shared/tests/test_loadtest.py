"""mlshared.loadtest against a real wrk and a real HTTP server; mlshared.servers.redis_server against a real
redis-server (both Debian packages that scripts/system-deps.sh installs)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mlshared.loadtest import median_ratio, median_round, parse_summary, round_ratios, run_wrk, wrk_script
from mlshared.servers import redis_server

# Each request carries the next number; the server records what it got.
COUNTING_LUA = """
sent = 0
local start = 0
init = function(args) start = tonumber(args[1]) end
request = function()
  local body = string.format('{"n": %d}', start + sent)
  sent = sent + 1
  return wrk.format("POST", nil, nil, body)
end
"""


@pytest.fixture
def recording_server() -> Iterator[tuple[str, list[int]]]:
    seen: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the APIs' servers

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(json.loads(body)["n"])
            self._answer()

        def do_GET(self) -> None:
            self._answer()

        def _answer(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def test_a_generated_stream_is_sent_once_and_counted(recording_server: tuple[str, list[int]], tmp_path: Path) -> None:
    url, seen = recording_server
    first = run_wrk(url, "POST", None, 1, 2, tmp_path, lua=COUNTING_LUA, args=["0"])
    second = run_wrk(url, "POST", None, 1, 2, tmp_path, lua=COUNTING_LUA, args=[str(first["sent"])])
    assert first["requests"] > 0 and first["errors"] == 0 and first["non_2xx"] == 0
    total = first["sent"] + second["sent"]
    deadline = time.monotonic() + 5
    while len(seen) < total - 2 and time.monotonic() < deadline:  # the last requests may still be in the server
        time.sleep(0.05)
    # No number arrived twice across both runs (the counter carried over) and none beyond the count; wrk
    # generates one request per run that it never sends (its script check), so at most one per run is missing.
    assert len(seen) == len(set(seen)) and max(seen) < total
    assert len(seen) >= total - 2
    assert 0 < first["p50_ms"] <= first["p99_ms"] <= first["max_ms"]


def test_summary_parsing_and_paired_ratios() -> None:
    line = (
        'noise\nBENCH {"requests": 500, "duration_us": 2000000, "p50_us": 1500, "p90_us": 2500, "p99_us": 9000, '
        '"max_us": 12000, "errors": 1, "non_2xx": 2, "sent": 0}\n'
    )
    summary = parse_summary(line)
    assert summary["requests_per_s"] == 250.0 and summary["p99_ms"] == 9.0 and "sent" not in summary
    with pytest.raises(RuntimeError, match="no summary"):
        parse_summary("wrk crashed")
    fast = [{"requests_per_s": r} for r in (100.0, 300.0, 200.0)]
    slow = [{"requests_per_s": r} for r in (50.0, 100.0, 150.0)]
    assert round_ratios(slow, fast) == [0.5, 0.333, 0.75]
    assert median_ratio(slow, fast) == 0.5
    assert median_round(fast)["requests_per_s"] == 200.0
    assert "wrk.body = [==[{}]==]" in wrk_script("POST", "{}")


def test_redis_server_answers_and_stops(tmp_path: Path) -> None:
    with redis_server(tmp_path) as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            assert sock.recv(16).startswith(b"+PONG")
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
