"""Blocking work off the event loop, with bounded concurrency.

Parsing and scoring a 10,000-row batch holds the loop for a few hundred ms; run on it, every
`/health` and `/ready` behind it waits (p99 288 ms under back-to-back batches). `run_blocking`
runs such work in a worker thread, at most `blocking_concurrency` at once (an anyio
CapacityLimiter per app), so probes stay answered and a flood of batches queues instead of
piling up memory. Small requests should stay on the loop: the thread hand-off costs more than they do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, TypeVarTuple

import anyio.to_thread
from fastapi import Request

R = TypeVar("R")
Ts = TypeVarTuple("Ts")


async def run_blocking(request: Request, func: Callable[[*Ts], R], *args: *Ts) -> R:
    """`func(*args)` in a worker thread under the app's limiter."""
    limiter: anyio.CapacityLimiter = request.app.state.service.limiter
    return await anyio.to_thread.run_sync(func, *args, limiter=limiter)
