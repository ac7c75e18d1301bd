"""The SQLite online store's group commit: its own reads see every write at once, other readers once committed."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime
from pathlib import Path

from fraud_mlops.online import SQLiteStore, Tx

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
