"""Speed of the generic-paradigm mapper and the accelerator sweep.

Targets (issue 5): warm VGG16 <= 1 s per generic spec (every unique layer searched, no cache); the full
50,000-point NAHAS sweep for ResNet-50 <= 60 s on 2 cores. Also prints the model's figures for the record.
Run: .venv/bin/python benchmarks/bench_generic.py
"""

from __future__ import annotations

import os
import sys
import time

from accelmodel import search
from accelmodel.estimate import configure, estimate
from accelmodel.workloads import get

SPECS = ("generic-small", "generic-medium", "generic-large", "nahas-edge")
VGG16_LIMIT_S = 1.0
SWEEP_LIMIT_S = 60.0


def search_network(graph, mapper, config, objective="latency"):
    """Seconds to search every unique MAC/stream layer of `graph` once (no cache)."""
    layers = [layer for layer, _ in graph.unique_layers().values()]
    t0 = time.perf_counter()
    for layer in layers:
        mapper.map_layer(layer, config, objective)
    return time.perf_counter() - t0, len(layers)


def main():
    failures = []
    t0 = time.perf_counter()
    _, mapper, config = configure("nahas-edge")
    vgg = get("vgg16")
    mapper.map_layer(vgg.layers[0], config, "latency")
    print(f"first search in this process (import + kernel load or compile): {time.perf_counter() - t0:.2f} s")
    for spec in SPECS:
        _, mapper, config = configure(spec)
        search_network(vgg, mapper, config)                       # warm-up
        secs, n = search_network(vgg, mapper, config)
        est = estimate(vgg, spec)
        extra = f", area {config.area_mm2:.2f} mm^2" if config.area_mm2 else ""
        print(f"VGG16 on {spec}: {secs:.3f} s warm ({n} unique layers); latency {est.latency_ms:.2f} ms, "
              f"energy {est.energy_mj:.2f} mJ, peak {config.peak_tops:.3f} TOPS{extra}")
        if secs > VGG16_LIMIT_S:
            failures.append(f"VGG16 on {spec}: {secs:.2f} s > {VGG16_LIMIT_S} s")
    for objective in ("energy", "edp"):                         # informational, no target
        for spec in ("generic-large", "nahas-edge"):
            _, mapper, config = configure(spec)
            secs, _ = search_network(vgg, mapper, config, objective)
            print(f"VGG16 on {spec}, {objective} objective: {secs:.2f} s")
    for name in ("resnet50", "mobilenet_v2"):
        print(f"{name}: " + ", ".join(f"{s} {estimate(name, s).latency_ms:.2f} ms" for s in SPECS))

    search.accelerators("nb201:|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|"
                        "nor_conv_3x3~1|nor_conv_3x3~2|")     # loads the parallel kernel
    t0 = time.perf_counter()
    frame = search.accelerators("resnet50")
    secs = time.perf_counter() - t0
    threads = os.environ.get("NUMBA_NUM_THREADS", str(os.cpu_count()))
    best = frame.loc[frame["latency_ms"].idxmin()]
    print(f"ResNet-50 NAHAS sweep: {len(frame)} points in {secs:.1f} s ({threads} threads); "
          f"{int(frame['valid'].sum())} valid, {int(frame['pareto'].sum())} on the latency-area front; "
          f"fastest {best['latency_ms']:.3f} ms at {best['area_mm2']:.1f} mm^2")
    if secs > SWEEP_LIMIT_S:
        failures.append(f"ResNet-50 sweep: {secs:.1f} s > {SWEEP_LIMIT_S} s")
    if failures:
        sys.exit("targets missed: " + "; ".join(failures))


if __name__ == "__main__":
    main()
