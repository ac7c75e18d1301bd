"""The online stores: SQLite's group commit (its own reads see every write at once, other readers once
committed) and Redis' one read per request (against a real redis-server)."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path

import redis

from fraud_mlops.features import Windows
from fraud_mlops.online import Query, RedisStore, SQLiteStore, Tx
from mlshared.servers import redis_server

TX = Tx(7, datetime(2018, 8, 8, 12), customer=1, terminal=2, amount=10.0)


def committed_rows(path: Path) -> int:
    """What a second connection (another process, a backup) sees: committed rows only."""
    with sqlite3.connect(path) as other:
        return int(other.execute("SELECT COUNT(*) FROM tx").fetchone()[0])


def test_every_write_commits_itself_by_default(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite")
    store.add(TX)
    assert committed_rows(tmp_path / "s.sqlite") == 1
    store.close()


def test_a_group_is_read_at_once_and_committed_on_close(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite", commit_interval_s=3600)
    store.add(TX)
    assert store.label(TX.tx_id, 1)
    assert store.has(TX.tx_id) and store.latest_ns() == TX.time_ns  # the features read the uncommitted write
    assert committed_rows(tmp_path / "s.sqlite") == 0  # not before the interval...
    store.close()
    assert committed_rows(tmp_path / "s.sqlite") == 1  # ...or the close: nothing is lost on a clean stop


def test_a_group_is_committed_within_the_interval(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite", commit_interval_s=0.02)
    store.add(TX)
    deadline = time.monotonic() + 10  # generous: the committer thread may wait for the CPU on a busy machine
    while committed_rows(tmp_path / "s.sqlite") == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert committed_rows(tmp_path / "s.sqlite") == 1
    store.close()


def script_calls(client: redis.Redis) -> tuple[int, int]:
    """(SCRIPT subcommands, EVALSHA) the server has run so far."""
    stats = client.info("commandstats")
    scripts = sum(int(v["calls"]) for k, v in stats.items() if k.startswith("cmdstat_script"))
    return scripts, int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


def test_a_redis_read_runs_its_script_by_sha_and_survives_a_script_flush(tmp_path: Path) -> None:
    """redis-py's script objects ask SCRIPT EXISTS before every pipeline: a round trip per request, avoided."""
    with redis_server(tmp_path / "redis") as url:
        store, client = RedisStore(url), redis.Redis.from_url(url)
        store.add(TX)
        assert store.label(TX.tx_id, 1)
        later = Tx(8, TX.time + timedelta(days=8), customer=3, terminal=TX.terminal, amount=5.0)
        query = Query.of(later, Windows())
        before = script_calls(client)
        evidence = store.evidence(query)
        assert script_calls(client) == (before[0], before[1] + 1)  # the script ran, nothing asked whether it exists
        assert evidence.first_fraud_ns == TX.time_ns and evidence.terminal_frauds[-1] == 1
        client.script_flush()  # as after a restart: the server no longer knows the script
        assert store.evidence(query) == evidence
        store.close()
