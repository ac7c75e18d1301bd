"""What the CPU is and can do, from /proc/cpuinfo: recorded by the benches (image-classifier,
sentiment-bert), and checked before bf16 training (sentiment-bert)."""

from __future__ import annotations

import platform
from pathlib import Path


def _cpuinfo_field(name: str) -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith(name):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def model_name() -> str:
    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


def bf16_instructions() -> list[str]:
    """The CPU's native bf16 matrix instructions (empty: bf16 is emulated and slow here)."""
    flags = set((_cpuinfo_field("flags") or "").split())
    return sorted(flags & {"amx_bf16", "avx512_bf16"})
