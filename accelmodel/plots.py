"""PNG plots (matplotlib, Agg backend): per-layer breakdown, latency vs MACs, Pareto front."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd


def _pyplot():
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - depends on the install
        raise ImportError("plots need matplotlib: pip install 'accelmodel[plots]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _check_out(path) -> str:
    path = os.fspath(path)
    if not path.lower().endswith(".png"):
        raise ValueError(f"plot path {path!r} must end in .png")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"plot path {path!r}: folder {directory!r} does not exist")
    return path


def _save(fig, path: str) -> str:
    from .datasets import atomic_write

    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def _need(frame: pd.DataFrame, cols) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"table lacks column(s) {missing}; it has {list(frame.columns)}")


def layer_breakdown(est, path) -> str:
    """Two stacked bar panels: each layer's latency and energy (energy split by memory level if known)."""
    path = _check_out(path)
    plt = _pyplot()
    layers = est.layers
    x = np.arange(len(layers))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(8, 0.18 * len(layers) + 4), 7), sharex=True)
    ax1.bar(x, layers["latency_ms"], color="tab:blue")
    ax1.set_ylabel("latency (ms)")
    ax1.set_title(f"{est.network} on {est.arch}: {est.latency_ms:.4g} ms, {est.energy_mj:.4g} mJ")
    levels = [c for c in layers.columns if c.startswith("energy_") and c.endswith("_mj") and c != "energy_mj"]
    if levels:
        bottom = np.zeros(len(layers))
        for col in levels:
            values = layers[col].fillna(0).to_numpy(dtype=float)
            ax2.bar(x, values, bottom=bottom, label=col[len("energy_"):-len("_mj")])
            bottom += values
        ax2.legend(fontsize=7, ncol=min(6, len(levels)))
    else:
        ax2.bar(x, layers["energy_mj"], color="tab:orange")
    ax2.set_ylabel("energy (mJ)")
    if len(layers) <= 80:
        ax2.set_xticks(x, layers["name"], rotation=90, fontsize=6)
    else:
        ax2.set_xlabel("layer (topological order)")
    fig.tight_layout()
    return _save(fig, path)


def latency_vs_macs(frame: pd.DataFrame, path, hue: str | None = None) -> str:
    """Scatter of every network's latency against its MACs (one colour per arch/dataset if present)."""
    path = _check_out(path)
    _need(frame, ["macs", "latency_ms"])
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    groups = [c for c in ("arch", "dataset") if c in frame.columns] if hue is None else [hue]
    parts = frame.groupby(groups) if groups else [("", frame)]
    for key, part in parts:
        label = "/".join(map(str, key)) if isinstance(key, tuple) else str(key)
        ax.scatter(part["macs"] / 1e6, part["latency_ms"], s=4, alpha=0.5, label=label or None)
    ax.set_xlabel("MACs (M)")
    ax.set_ylabel("latency (ms)")
    ax.set_title(f"latency vs MACs, {len(frame)} networks")
    if groups:
        ax.legend(fontsize=8, markerscale=3)
    fig.tight_layout()
    return _save(fig, path)


def pareto_front(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the points not dominated in (x, y), both minimised, sorted by x."""
    from .search import pareto_mask

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    idx = np.flatnonzero(pareto_mask(x, y))
    return idx[np.lexsort((y[idx], x[idx]))].astype(np.int64)


def pareto(frame: pd.DataFrame, path, x: str = "latency_ms", y: str = "energy_mj") -> str:
    """All networks in grey with the (x, y)-minimising Pareto front highlighted."""
    path = _check_out(path)
    _need(frame, [x, y])
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.scatter(frame[x], frame[y], s=4, color="0.7", alpha=0.5, label="networks")
    idx = pareto_front(frame[x].to_numpy(), frame[y].to_numpy())
    ax.plot(frame[x].to_numpy()[idx], frame[y].to_numpy()[idx], "o-", color="tab:red", ms=3,
            label=f"Pareto front ({len(idx)})")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"{y} vs {x}, {len(frame)} networks")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)
