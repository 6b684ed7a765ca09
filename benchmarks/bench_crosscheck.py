"""Speed of the AccelForge cross-check: what CI pays and what the mapper comparison costs.

Figures: (1) AccelForge's evaluation of one fixed mapping per layer (export + parse + model), the part CI runs;
(2) our model on the same mapping and our mapper's EDP search, for contrast; (3) AccelForge's mapper times as
recorded in validation/data/accelforge_mapper.csv (minutes per layer; not re-run here).
Target (issue 7): the CI part (one layer, one spec) well under a minute; CI's whole budget is 90 min on 2 cores.
Run: .venv/bin/python benchmarks/bench_crosscheck.py
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import time

import pandas as pd

from accelmodel.validation import crosscheck as C


def main() -> int:
    layers = C.crosscheck_layers()
    # warm Numba and our mappers once
    for spec in C.SPECS:
        C.ours(spec, layers[0][1])
    for spec in C.SPECS:
        t0 = time.perf_counter()
        for _, layer in layers:
            C.ours(spec, layer)
        ours_s = (time.perf_counter() - t0) / len(layers)
        print(f"{spec}: our EDP search + cost, mean per layer: {1e3 * ours_s:.2f} ms")
    if importlib.util.find_spec("accelforge") is None:
        print("accelforge not installed: AccelForge timings skipped (pip install -e '.[crosscheck]')")
        return 0
    t0 = time.perf_counter()
    import accelforge  # noqa: F401  (timed: the import alone takes seconds)
    print(f"import accelforge: {time.perf_counter() - t0:.2f} s")
    for spec in C.SPECS:
        times = []
        for _, layer in layers:
            mine = C.ours(spec, layer)
            t0 = time.perf_counter()
            C.accelforge_fixed(spec, layer, mine.mapping)
            times.append(time.perf_counter() - t0)
        print(f"{spec}: AccelForge fixed-mapping evaluation per layer: median {statistics.median(times):.3f} s, "
              f"max {max(times):.3f} s, all {len(times)} layers {sum(times):.1f} s")
    if C.MAPPER_CSV.exists():
        df = pd.read_csv(C.MAPPER_CSV)
        for spec, part in df.groupby("spec"):
            s = part["af_mapper_seconds"]
            print(f"{spec}: AccelForge mapper (recorded, {len(part)} layers): median {s.median():.0f} s, "
                  f"max {s.max():.0f} s, total {s.sum() / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
