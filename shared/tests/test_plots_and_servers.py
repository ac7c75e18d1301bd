from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from mlshared import plots
from mlshared.servers import free_port, serve

PNG = b"\x89PNG\r\n\x1a\n"


def test_every_standard_plot_writes_a_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    score = np.clip(y * 0.6 + rng.normal(0.2, 0.2, 200), 0, 1)
    paths = [
        plots.roc(y, {"model": score}, tmp_path / "roc.png"),
        plots.precision_recall(y, {"model": score}, tmp_path / "pr.png"),
        plots.confusion_matrix(y, score > 0.5, tmp_path / "cm.png", labels=["no", "yes"]),
        plots.calibration(y, {"model": score}, tmp_path / "cal.png"),
        plots.residuals(score, score + 0.1, tmp_path / "res.png", "t"),
        plots.predicted_vs_actual(score, score, tmp_path / "pva.png", "t"),
        plots.importances(["a", "b", "c"], [0.3, 0.1, 0.2], tmp_path / "imp.png", errors=[0.01, 0.02, 0.0]),
        plots.line([0, 1, 2], {"cost": [3, 1, 2]}, tmp_path / "line.png", "t", "x", "y", marker_x=1),
    ]
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(PNG) and len(data) > 5_000, path


def test_serve_waits_for_a_real_server_and_stops_it(tmp_path: Path) -> None:
    import urllib.request

    (tmp_path / "index.html").write_text("hello")
    port = free_port()
    cmd = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)]
    with serve(cmd, port, timeout_s=30) as server, urllib.request.urlopen(server.base_url + "/index.html") as page:
        assert page.read() == b"hello"
    assert server.process.poll() is not None


def test_a_server_that_dies_reports_its_log() -> None:
    port = free_port()
    cmd = [sys.executable, "-c", "import sys; print('boom: bad config'); sys.exit(3)"]
    with pytest.raises(RuntimeError, match="boom: bad config"), serve(cmd, port, timeout_s=10):
        pass
