"""Build times of the workload graphs (FBNet, NAS-Bench-201, classic CNNs, ONNX import) and their MAC counts.

Run: .venv/bin/python benchmarks/bench_workloads.py
"""

from __future__ import annotations

import random
import time

from accelmodel.workloads import classic, fbnet, nasbench201, nasbench201_arch_strings
from accelmodel.workloads.classic import NETWORKS
from accelmodel.workloads.fbnet import NUM_POSITIONS


def per_call_ms(fn, args_list) -> float:
    start = time.perf_counter()
    for args in args_list:
        fn(*args)
    return (time.perf_counter() - start) / len(args_list) * 1e3


def main() -> None:
    rng = random.Random(0)
    fb_args = [([rng.randrange(9) for _ in range(NUM_POSITIONS)], ds) for ds in ("cifar100", "imagenet")
               for _ in range(200)]
    fbnet(*fb_args[0])  # warm imports
    print(f"fbnet build:        {per_call_ms(fbnet, fb_args):7.2f} ms/network (400 random op lists)")
    archs = nasbench201_arch_strings()
    nb_args = [(rng.choice(archs), "cifar10") for _ in range(200)]
    print(f"nasbench201 build:  {per_call_ms(nasbench201, nb_args):7.2f} ms/network (200 random cells)")
    for name in NETWORKS:
        ms = per_call_ms(classic, [(name,)] * 20)
        g = classic(name)
        conv = sum(l.macs for l in g if l.tag("part") == "conv")
        print(f"{name:14s} build {ms:6.2f} ms  {len(g):3d} layers  {g.macs / 1e6:9.1f} M MACs "
              f"(CONV part {conv / 1e6:9.1f} M)  {g.params / 1e6:6.2f} M params")
    try:
        import onnx  # noqa: F401
    except ImportError:
        print("onnx not installed: ONNX import not timed")
        return
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_onnx import to_onnx  # the test's exporter: conv/pool/add/gap/fc with ReLUs

    from accelmodel.workloads import from_onnx

    for name in ("resnet50", "mobilenet_v2"):
        proto = to_onnx(classic(name))
        ms = per_call_ms(from_onnx, [(proto,)] * 5)
        print(f"from_onnx {name:12s} {ms:7.2f} ms/import ({len(proto.graph.node)} ONNX nodes)")


if __name__ == "__main__":
    main()
