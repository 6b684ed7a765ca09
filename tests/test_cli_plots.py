"""Plots: the Pareto front is right; each plot writes a PNG."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from accelmodel import plots
from accelmodel.estimate import estimate

PNG = b"\x89PNG\r\n\x1a\n"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=40))
def test_pareto_front_is_exactly_the_non_dominated_points(points):
    x = np.array([p[0] for p in points], dtype=float)
    y = np.array([p[1] for p in points], dtype=float)
    front = set(plots.pareto_front(x, y).tolist())
    for i in range(len(points)):
        dominated = any((x[j] <= x[i] and y[j] <= y[i]) and (x[j] < x[i] or y[j] < y[i]) for j in range(len(points)))
        if dominated:
            assert i not in front
    # one representative of every non-dominated (x, y) value
    values = {(x[i], y[i]) for i in front}
    want = {(x[i], y[i]) for i in range(len(points))
            if not any((x[j] <= x[i] and y[j] <= y[i]) and (x[j] < x[i] or y[j] < y[i]) for j in range(len(points)))}
    assert values == want and len(front) == len(values)


def test_plots_write_png(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"macs": rng.integers(1e6, 1e8, 200), "latency_ms": rng.uniform(1, 9, 200),
                          "energy_mj": rng.uniform(0.1, 3, 200), "arch": ["a", "b"] * 100})
    for fn, name in ((plots.latency_vs_macs, "m.png"), (plots.pareto, "p.png")):
        path = fn(frame, tmp_path / name)
        assert (tmp_path / name).read_bytes()[:8] == PNG and str(path).endswith(name)
    est = estimate("alexnet", "eyeriss-hwnasbench")
    plots.layer_breakdown(est, tmp_path / "l.png")
    assert (tmp_path / "l.png").read_bytes()[:8] == PNG
    with pytest.raises(ValueError, match="latency_ms"):
        plots.pareto(frame.drop(columns="latency_ms"), tmp_path / "x.png")
    with pytest.raises(ValueError, match=".png"):
        plots.pareto(frame, tmp_path / "x.svg")
    with pytest.raises(FileNotFoundError):
        plots.pareto(frame, tmp_path / "nope" / "x.png")
