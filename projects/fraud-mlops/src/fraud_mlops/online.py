"""The online feature store: per-customer, per-terminal and per-pair history for the serving path.

`OnlineFeatures.features` computes, for one incoming transaction, exactly what `features.compute` computes
in batch for the same stream: the same windows `(t - w, t]`, the same arrival order, the same 7-day label
delay (a label counts only once its transaction is `delay` days old, and only if `/feedback` delivered it;
an unlabelled transaction counts as genuine, as in batch). A test replays a day through the API and
compares with the batch features to 1e-9.

Two backends hold the history: SQLite (default; one file, indexed by key and time) and Redis (sorted sets
per key, scored by time) when FRAUD_REDIS_URL is set. History older than the longest window is never read.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from fraud_mlops.features import SINCE_CAP_S, Windows
from fraud_mlops.schema import AMOUNT, CUSTOMER, LABEL, TERMINAL, TIME, TX_ID

NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True)
class Tx:
    tx_id: int
    time: datetime
    customer: int
    terminal: int
    amount: float

    @property
    def time_ns(self) -> int:
        return to_ns(self.time)


def to_ns(moment: datetime) -> int:
    """Naive timestamps are taken as they come (the data's clock); aware ones are converted to UTC first."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    delta = moment - datetime(1970, 1, 1)
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000


class Store(Protocol):
    """What the feature computation needs from a backend; `add` and `label` are atomic."""

    def has(self, tx_id: int) -> bool: ...
    def latest_ns(self) -> int | None: ...
    def customer_history(self, customer: int, after_ns: int) -> list[tuple[int, float]]: ...
    def last_customer_ns(self, customer: int) -> int | None: ...
    def pair_history(self, customer: int, terminal: int, after_ns: int) -> list[int]: ...
    def terminal_history(self, terminal: int, after_ns: int, until_ns: int) -> list[tuple[int, int]]: ...
    def add(self, tx: Tx) -> None: ...
    def label(self, tx_id: int, label: int) -> bool: ...
    def transaction_ns(self, tx_id: int) -> int: ...
    def bulk_load(self, frame: pl.DataFrame) -> int: ...
    def close(self) -> None: ...


class SQLiteStore:
    """History in one SQLite file (WAL), one row per transaction, indexed by each key and time."""

    SCHEMA = """
    CREATE TABLE IF NOT EXISTS tx (
        tx_id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, customer INTEGER NOT NULL,
        terminal INTEGER NOT NULL, amount REAL NOT NULL, label INTEGER);
    CREATE INDEX IF NOT EXISTS tx_customer ON tx (customer, time_ns);
    CREATE INDEX IF NOT EXISTS tx_terminal ON tx (terminal, time_ns);
    CREATE INDEX IF NOT EXISTS tx_pair ON tx (customer, terminal, time_ns);
    CREATE INDEX IF NOT EXISTS tx_time ON tx (time_ns);  -- MAX(time_ns) without a scan (was 90 ms at 355k rows)
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(self.SCHEMA)

    def has(self, tx_id: int) -> bool:
        return self.db.execute("SELECT 1 FROM tx WHERE tx_id = ?", (tx_id,)).fetchone() is not None

    def latest_ns(self) -> int | None:
        row = self.db.execute("SELECT MAX(time_ns) FROM tx").fetchone()
        return None if row[0] is None else int(row[0])

    def customer_history(self, customer: int, after_ns: int) -> list[tuple[int, float]]:
        rows = self.db.execute(
            "SELECT time_ns, amount FROM tx WHERE customer = ? AND time_ns > ? ORDER BY time_ns, tx_id",
            (customer, after_ns),
        )
        return [(int(t), float(a)) for t, a in rows]

    def last_customer_ns(self, customer: int) -> int | None:
        row = self.db.execute("SELECT MAX(time_ns) FROM tx WHERE customer = ?", (customer,)).fetchone()
        return None if row[0] is None else int(row[0])

    def pair_history(self, customer: int, terminal: int, after_ns: int) -> list[int]:
        rows = self.db.execute(
            "SELECT time_ns FROM tx WHERE customer = ? AND terminal = ? AND time_ns > ?", (customer, terminal, after_ns)
        )
        return [int(t) for (t,) in rows]

    def terminal_history(self, terminal: int, after_ns: int, until_ns: int) -> list[tuple[int, int]]:
        rows = self.db.execute(
            "SELECT time_ns, COALESCE(label, 0) FROM tx WHERE terminal = ? AND time_ns > ? AND time_ns <= ?",
            (terminal, after_ns, until_ns),
        )
        return [(int(t), int(y)) for t, y in rows]

    def add(self, tx: Tx) -> None:
        self.db.execute(
            "INSERT INTO tx (tx_id, time_ns, customer, terminal, amount) VALUES (?, ?, ?, ?, ?)",
            (tx.tx_id, tx.time_ns, tx.customer, tx.terminal, tx.amount),
        )

    def label(self, tx_id: int, label: int) -> bool:
        return self.db.execute("UPDATE tx SET label = ? WHERE tx_id = ?", (label, tx_id)).rowcount == 1

    def transaction_ns(self, tx_id: int) -> int:
        return int(self.db.execute("SELECT time_ns FROM tx WHERE tx_id = ?", (tx_id,)).fetchone()[0])

    def bulk_load(self, frame: pl.DataFrame) -> int:
        rows = _rows(frame)
        with self._transaction():
            self.db.executemany(
                "INSERT INTO tx (tx_id, time_ns, customer, terminal, amount, label) VALUES (?, ?, ?, ?, ?, ?)", rows
            )
        return len(rows)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()


class RedisStore:
    """History in Redis: a hash per transaction and sorted sets (scored by time) per customer, terminal and
    customer-terminal pair; `latest` holds the newest time seen. Writes of one transaction are one MULTI."""

    def __init__(self, url: str, prefix: str = "fraud:") -> None:
        import redis

        self.r = redis.Redis.from_url(url, decode_responses=True)
        self.r.ping()
        self.p = prefix

    def has(self, tx_id: int) -> bool:
        return bool(self.r.exists(f"{self.p}tx:{tx_id}"))

    def latest_ns(self) -> int | None:
        value = self.r.get(f"{self.p}latest")
        return None if value is None else int(str(value))

    def _members(self, key: str, after_ns: int, until_ns: int | None = None) -> list[str]:
        upper: str | int = "+inf" if until_ns is None else until_ns
        return [str(m) for m in self.r.zrangebyscore(key, f"({after_ns}", upper)]

    def customer_history(self, customer: int, after_ns: int) -> list[tuple[int, float]]:
        out = []
        for member in self._members(f"{self.p}c:{customer}", after_ns):
            t, _, amount = member.split(":")
            out.append((int(t), float(amount)))
        return out

    def last_customer_ns(self, customer: int) -> int | None:
        last = self.r.zrange(f"{self.p}c:{customer}", -1, -1, withscores=True)
        return int(last[0][1]) if last else None

    def pair_history(self, customer: int, terminal: int, after_ns: int) -> list[int]:
        return [int(m.split(":")[0]) for m in self._members(f"{self.p}p:{customer}:{terminal}", after_ns)]

    def terminal_history(self, terminal: int, after_ns: int, until_ns: int) -> list[tuple[int, int]]:
        members = self._members(f"{self.p}t:{terminal}", after_ns, until_ns)
        if not members:
            return []
        ids = [m.split(":")[1] for m in members]
        labels = self.r.hmget(f"{self.p}labels", ids)
        return [(int(m.split(":")[0]), int(y or 0)) for m, y in zip(members, labels, strict=True)]

    def _write(self, pipe: Any, row: tuple[int, int, int, int, float, int | None]) -> None:
        tx_id, t, customer, terminal, amount, label = row
        # Members carry the time, the id and what the feature needs; the score is the time.
        pipe.hset(f"{self.p}tx:{tx_id}", mapping={"t": t, "c": customer, "term": terminal})
        pipe.zadd(f"{self.p}c:{customer}", {f"{t:020d}:{tx_id}:{amount!r}": t})
        pipe.zadd(f"{self.p}t:{terminal}", {f"{t:020d}:{tx_id}": t})
        pipe.zadd(f"{self.p}p:{customer}:{terminal}", {f"{t:020d}:{tx_id}": t})
        if label is not None:
            pipe.hset(f"{self.p}labels", str(tx_id), label)

    def add(self, tx: Tx) -> None:
        latest = max(tx.time_ns, self.latest_ns() or tx.time_ns)
        pipe = self.r.pipeline(transaction=True)
        self._write(pipe, (tx.tx_id, tx.time_ns, tx.customer, tx.terminal, tx.amount, None))
        pipe.set(f"{self.p}latest", latest)
        pipe.execute()

    def label(self, tx_id: int, label: int) -> bool:
        if not self.has(tx_id):
            return False
        self.r.hset(f"{self.p}labels", str(tx_id), label)
        return True

    def transaction_ns(self, tx_id: int) -> int:
        return int(str(self.r.hget(f"{self.p}tx:{tx_id}", "t")))

    def bulk_load(self, frame: pl.DataFrame) -> int:
        rows = _rows(frame)
        pipe = self.r.pipeline(transaction=False)
        for row in rows:
            self._write(pipe, row)
        pipe.execute()
        if rows:
            self.r.set(f"{self.p}latest", max(r[1] for r in rows))
        return len(rows)

    def close(self) -> None:
        self.r.close()


def _rows(frame: pl.DataFrame) -> list[tuple[int, int, int, int, float, int | None]]:
    """(tx_id, time_ns, customer, terminal, amount, label) in stream order."""
    ordered = frame.sort([TIME, TX_ID])
    labels = ordered[LABEL] if LABEL in ordered.columns else pl.Series([None] * ordered.height)
    return list(
        zip(
            ordered[TX_ID].to_list(),
            ordered[TIME].cast(pl.Datetime("ns")).dt.epoch("ns").to_list(),
            ordered[CUSTOMER].to_list(),
            ordered[TERMINAL].to_list(),
            ordered[AMOUNT].cast(pl.Float64).to_list(),
            labels.to_list(),
            strict=True,
        )
    )


class OnlineFeatures:
    """Feature computation over a `Store`, one transaction at a time, serialised by a lock."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lock = threading.Lock()

    def features(self, tx: Tx, w: Windows) -> dict[str, float]:
        """The extended set (a superset of the handbook's) for `tx`, given everything that arrived before it."""
        t = tx.time_ns
        longest = max(*w.customer, *w.ratio)
        stored = self.store.customer_history(tx.customer, t - longest * NS_PER_DAY)
        history = [(s, a) for s, a in [*stored, (t, tx.amount)] if s <= t]
        out: dict[str, float] = {AMOUNT: float(tx.amount)}
        out["TX_DURING_WEEKEND"] = float(tx.time.weekday() >= 5)
        out["TX_DURING_NIGHT"] = float(tx.time.hour <= 6)
        means: dict[int, float] = {}
        counts: dict[int, float] = {}
        for d in sorted({*w.customer, *w.ratio}):
            inside = [a for s, a in history if s > t - d * NS_PER_DAY]
            counts[d] = float(len(inside))
            means[d] = math.fsum(inside) / len(inside)
        for d in w.customer:
            out[f"CUSTOMER_ID_NB_TX_{d}DAY_WINDOW"] = counts[d]
            out[f"CUSTOMER_ID_AVG_AMOUNT_{d}DAY_WINDOW"] = means[d]
        for d in w.ratio:
            out[f"CUSTOMER_ID_AMOUNT_RATIO_{d}DAY"] = tx.amount / means[d] if means[d] > 0 else 1.0
        # The newest stored transaction is the last of `stored` (time-ordered); when the window holds none, a gap
        # longer than the window reads as the cap anyway unless the window is shorter than the cap: one read saved.
        if stored:
            previous: int | None = stored[-1][0]
        elif longest * 86_400 >= SINCE_CAP_S:
            previous = None
        else:
            previous = self.store.last_customer_ns(tx.customer)
        gap = SINCE_CAP_S if previous is None else (t - previous) / 1e9
        out["CUSTOMER_ID_LOG_SECONDS_SINCE_PREV_TX"] = math.log1p(min(max(gap, 0.0), SINCE_CAP_S))
        pair = self.store.pair_history(tx.customer, tx.terminal, t - w.pair * NS_PER_DAY)
        out[f"CUSTOMER_TERMINAL_NB_TX_{w.pair}DAY_WINDOW"] = float(sum(1 for s in pair if s <= t) + 1)
        delay_end = t - w.delay * NS_PER_DAY
        old = self.store.terminal_history(tx.terminal, t - (w.delay + max(w.terminal)) * NS_PER_DAY, delay_end)
        for d in w.terminal:
            inside = [y for s, y in old if s > t - (w.delay + d) * NS_PER_DAY]
            out[f"TERMINAL_ID_NB_TX_{d}DAY_WINDOW"] = float(len(inside))
            out[f"TERMINAL_ID_RISK_{d}DAY_WINDOW"] = sum(inside) / len(inside) if inside else 0.0
        return out


def open_store(redis_url: str | None, sqlite_path: Path) -> Store:
    return RedisStore(redis_url) if redis_url else SQLiteStore(sqlite_path)


def dumps(features: dict[str, float]) -> str:
    return json.dumps(features, separators=(",", ":"))
