"""E2E-Perf (EH-DNAS, Jiang et al.; ../shared/papers/002) against our generic and pipeline paradigms.

Two comparisons, both as throughput (frames per second):

- `table4()`: E2E-Perf's Table 4 (ImageNet, generic paradigm, small / medium / large budgets) for DARTS, FBNet-A,
  ProxylessNAS and MobileNetV3 against ``generic-small/medium/large``. The table's "latencies" are reciprocal
  throughputs: each is 1000 / an integer fps (FBNet-A 38.46 / 20.41 / 11.63 ms = 26 / 49 / 86 fps), so
  1000 / ms recovers the published throughput.
- `dataset_distribution()`: the throughput distribution of sampled networks of EH-DNAS's DARTS data set (the
  C = 16, 8-cell CIFAR-10 network, EH-DNAS's sampler) on ``generic-large`` and ``fpga-e2e-large`` against the
  statistics EH-DNAS released for its 1,000,000-network large-budget training set.

The published figures below are quoted for comparison only (the library never returns them).
"""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd

#: EH-DNAS Table 4 (ImageNet, generic paradigm), published latency in ms on the small / medium / large budgets.
TABLE4_MS = {
    "DARTS": (14.71, 9.26, 7.46),
    "FBNet-A": (38.46, 20.41, 11.63),
    "ProxylessNAS": (71.43, 37.04, 20.41),
    "MobileNetV3": (28.57, 15.87, 9.90),
}
BUDGETS = ("small", "medium", "large")

#: EH-DNAS's released DARTS data set statistics (github qianjiangcn/eh-dnas, hw_loss/ds100w_stats_darts_lb.yaml,
#: large budget, training split of 1,000,000 networks): throughput in frames/s; ``acc`` there is the generic
#: paradigm (customised accelerator), ``pip`` the pipeline paradigm.
EH_DNAS_STATS = {"generic": {"n": 1_000_000, "mean": 799.2808245914118, "std": 147.87143187521818},
                 "pipeline": {"n": 1_000_000, "mean": 10691.551037565658, "std": 2753.212163729927}}
#: Our spec of each paradigm at the large budget.
PARADIGM_SPECS = {"generic": "generic-large", "pipeline": "fpga-e2e-large"}


def table4_networks() -> dict:
    """Name -> LayerGraph of Table 4's networks (DARTS: DARTS_V2 at ImageNet, C = 48, 14 cells)."""
    from ..workloads import classic, darts

    return {"DARTS": darts("DARTS_V2", "ImageNet", C=48, layers=14), "FBNet-A": classic("fbnet_a"),
            "ProxylessNAS": classic("proxylessnas_mobile"), "MobileNetV3": classic("mobilenet_v3_large")}


def table4() -> pd.DataFrame:
    """One row per (network, budget): published ms and fps, our latency and fps on generic-<budget>, the ratio
    of throughputs, the utilisation of the engine's peak MAC rate on both sides, and the share of our latency
    spent in DRAM-bound layers."""
    from ..estimate import configure, estimate

    rows = []
    for name, graph in table4_networks().items():
        for i, budget in enumerate(BUDGETS):
            spec = f"generic-{budget}"
            est = estimate(graph, spec)
            _, _, config = configure(spec)
            peak = config.peak_macs_per_cycle * config.clock_hz
            layers = est.layers
            dram_ms = float(layers.loc[layers["bottleneck"] == "dram", "latency_ms"].sum()) if "bottleneck" in layers else 0.0
            ms = TABLE4_MS[name][i]
            rows.append({"network": name, "budget": budget, "spec": spec, "macs": graph.macs,
                         "published_ms": ms, "published_fps": 1e3 / ms, "ours_ms": est.latency_ms,
                         "ours_fps": 1e3 / est.latency_ms, "ratio": (1e3 / est.latency_ms) / (1e3 / ms),
                         "published_utilisation": graph.macs * 1e3 / ms / peak,
                         "ours_utilisation": graph.macs * 1e3 / est.latency_ms / peak,
                         "dram_bound_share": dram_ms / est.latency_ms})
    return pd.DataFrame(rows)


def dataset_distribution(n: int = 20_000, seed: int = 0, scheme: str = "eh-dnas", workers=None) -> pd.DataFrame:
    """Our throughput statistics (mean, std, percentiles) of `n` sampled DARTS networks of EH-DNAS's data set on
    each paradigm's large-budget spec, beside EH-DNAS's released statistics."""
    from ..datasets import build

    darts_mod = importlib.import_module("accelmodel.workloads.darts")
    codes = darts_mod.sample_codes(n, seed, scheme=scheme)
    rows = []
    for paradigm, spec in PARADIGM_SPECS.items():
        fps = build("darts", spec, "cifar10", archs=codes, workers=workers)["throughput_fps"].to_numpy()
        ref = EH_DNAS_STATS[paradigm]
        rows.append({"paradigm": paradigm, "spec": spec, "n": n, "scheme": scheme, "mean": float(fps.mean()),
                     "std": float(fps.std(ddof=1)), "cv": float(fps.std(ddof=1) / fps.mean()),
                     "p5": float(np.percentile(fps, 5)), "p95": float(np.percentile(fps, 95)),
                     "published_n": ref["n"], "published_mean": ref["mean"], "published_std": ref["std"],
                     "published_cv": ref["std"] / ref["mean"], "mean_ratio": float(fps.mean()) / ref["mean"]})
    return pd.DataFrame(rows)
