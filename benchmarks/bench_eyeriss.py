"""Speed of the Eyeriss RS mapper: warm search times, mappings evaluated per second, cold start.

Targets (issue 3): all unique NAS-Bench-201 layers (three data sets) <= 0.1 s warm; AlexNet and VGG-16
<= 1 s each; >= 10 M mappings/s per core; cold start with the Numba cache <= 5 s. `eyeriss-hwnasbench` runs
NAS-Bench-201 layers under its NAS-Bench-201 rule (`for_space`), FBNet layers under its defaults, as the builders do.
Run: .venv/bin/python benchmarks/bench_eyeriss.py
"""

from __future__ import annotations

import subprocess
import sys
import time

from accelmodel.estimate import configure
from accelmodel.specs import load_spec
from accelmodel.workloads import fbnet, get, nasbench201
from accelmodel.workloads.fbnet import BLOCKS
from accelmodel.workloads.fbnet import DATASETS as FBNET_DATASETS
from accelmodel.workloads.nasbench201 import DATASETS, OPS, arch_string


def nb201_unique_layers():
    """Every unique layer shape of NAS-Bench-201 on its three data sets (all five cell ops present)."""
    layers = {}
    for dataset in DATASETS:
        for op in OPS:
            graph = nasbench201(arch_string([op] * 6), dataset)
            for sig, (layer, _count) in graph.unique_layers().items():
                layers.setdefault(sig, layer)
    return list(layers.values())


def fbnet_unique_layers():
    """Every unique layer shape of FBNet on its data sets (each block at every position)."""
    layers = {}
    for dataset in FBNET_DATASETS:
        for block in range(len(BLOCKS)):
            for sig, (layer, _count) in fbnet([block] * 22, dataset).unique_layers().items():
                layers.setdefault(sig, layer)
    return list(layers.values())


def search_all(layers, mapper, config, objective):
    """Seconds to search every layer (no cache), and the mappings evaluated."""
    t0 = time.perf_counter()
    evaluated = 0
    for layer in layers:
        cost = mapper.map_layer(layer, config, objective)
        evaluated += cost.extra.get("mappings_evaluated", 0)
    return time.perf_counter() - t0, evaluated


def main():
    t0 = time.perf_counter()
    spec = load_spec("eyeriss-hwnasbench")
    _, mapper, config = configure(spec.for_space("nasbench201"))
    first = nb201_unique_layers()
    mapper.map_layer(first[0], config, "latency")  # loads (or compiles) the kernels
    print(f"first search in this process (import + kernel load): {time.perf_counter() - t0:.2f} s")

    for space, layers, config in (("NAS-Bench-201", nb201_unique_layers(), config),
                                  ("FBNet", fbnet_unique_layers(), configure(spec)[2])):
        search_all(layers, mapper, config, "latency")
        # the spec's objective for the space first (NB201: balanced, two passes; FBNet: latency)
        for objective in dict.fromkeys((config.default_objective, "latency", "energy", "edp")):
            secs, evaluated = search_all(layers, mapper, config, objective)
            print(f"{space} unique layers ({len(layers)}, every data set), eyeriss-hwnasbench, {objective}: "
                  f"{secs * 1e3:.1f} ms warm, {evaluated / secs / 1e6:.1f} M mappings/s")

    _, mapper, chip = configure("eyeriss")
    for name, batch in (("alexnet", 4), ("vgg16", 3), ("alexnet", 1), ("vgg16", 1)):
        layers = [layer for layer, _ in get(name, batch=batch).unique_layers().values()]
        search_all(layers, mapper, chip, "energy")
        secs, evaluated = search_all(layers, mapper, chip, "energy")
        print(f"{name} whole network (N={batch}, {len(layers)} unique layers), eyeriss, energy: {secs * 1e3:.1f} ms "
              f"warm, {evaluated / 1e6:.2f} M mappings, {evaluated / secs / 1e6:.1f} M mappings/s")

    code = ("import time; t=time.perf_counter(); from accelmodel import estimate; "
            "from accelmodel.workloads import nasbench201; "
            "estimate(nasbench201('|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|'),"
            " 'eyeriss-hwnasbench'); print(time.perf_counter()-t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    print(f"cold start (new process, Numba cache warm): import + one NB201 network = {float(out.stdout):.2f} s")


if __name__ == "__main__":
    main()
