"""`make demo`: the main job on built-in defaults.

Builds a few networks (a NAS-Bench-201 cell, an FBNet network, AlexNet), prints their layer tables, and
estimates each on every built-in architecture spec.
"""

from __future__ import annotations

import sys
import time

import pandas as pd

import accelmodel
from accelmodel import workloads

NB201_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def main(argv: list[str] | None = None) -> int:
    pd.set_option("display.width", 160)
    pd.set_option("display.max_columns", 12)
    pd.set_option("display.max_colwidth", 60)
    networks = [
        ("NAS-Bench-201 (CIFAR-10)", workloads.nasbench201(NB201_ARCH, "cifar10")),
        ("FBNet (CIFAR-100), blocks k3_e6 / skip", workloads.fbnet([3, 8] * 11, "cifar100")),
        ("AlexNet (ImageNet)", workloads.get("alexnet")),
    ]
    for title, graph in networks:
        print(f"=== {title}: {graph!r}")
        table = graph.summary()
        print(table.head(12).to_string(index=False))
        if len(table) > 12:
            print(f"  ... {len(table) - 12} more layers")
        print()

    specs = accelmodel.available_specs()
    print(f"=== Estimates on {len(specs)} built-in architectures")
    rows = []
    for title, graph in networks:
        for arch in specs:
            t0 = time.perf_counter()
            est = accelmodel.estimate(graph, arch=arch)
            rows.append({
                "network": title.split(" (")[0], "arch": arch, "latency_ms": est.latency_ms,
                "energy_mj": est.energy_mj, "power_mw": est.power_mw,
                "throughput_gops": est.throughput_gops, "time_s": time.perf_counter() - t0,
            })
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print()
    est = accelmodel.estimate(networks[2][1], arch="eyeriss")
    print(f"=== Per-layer estimate: {est}")
    cols = [c for c in ("name", "type", "macs", "latency_ms", "energy_mj", "utilization", "dram_accesses", "mapping")
            if c in est.layers.columns]
    print(est.layers[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
