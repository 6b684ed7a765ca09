"""DARTS data sets at E2E-Perf scale: 1,000,000 sampled DARTS networks (EH-DNAS's C = 16, 8-cell CIFAR network)
on one paradigm and budget, target <= 10 minutes on 2 cores (issue 16; E2E-Perf: 1.4 M networks in 10 h).

Each case is a fresh process ("cold": imports done, Numba's on-disk cache present) running one
`datasets.build("darts", spec, sample=N, seed=0)` with the default workers (all cores). Reported: wall time,
CPU time of the process and its workers (so a busy machine can be told apart from a slow build), the load
average before the run, and the throughput distribution.

Run: .venv/bin/python benchmarks/bench_darts.py [--quick]     (--quick: 100,000 networks)
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

CASES = {
    # name: (arch, target seconds)
    "darts-generic-large": ("generic-large", 600.0),
    "darts-fpga-e2e-large": ("fpga-e2e-large", 600.0),
}


def child(name: str, n: int) -> None:
    arch, _ = CASES[name]
    from accelmodel import datasets

    start = time.perf_counter()
    frame = datasets.build("darts", arch, "cifar10", sample=n, seed=0)
    wall = time.perf_counter() - start
    cpu = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for f in ("ru_utime", "ru_stime"))
    fps = frame["throughput_fps"]
    print(json.dumps({"wall": wall, "cpu": cpu, "networks": len(frame), "fps_mean": float(fps.mean()),
                      "fps_std": float(fps.std()), "per_network_ms_cpu": cpu / len(frame) * 1e3}))


def main() -> int:
    n = 100_000 if "--quick" in sys.argv else 1_000_000
    failed = []
    for name, (arch, target) in CASES.items():
        load = os.getloadavg()[0]
        res = subprocess.run([sys.executable, __file__, "--child", name, str(n)], capture_output=True, text=True)
        if res.returncode != 0:
            print(f"{name:22s} FAILED\n{res.stderr[-2000:]}")
            failed.append(name)
            continue
        r = json.loads(res.stdout.strip().splitlines()[-1])
        scaled = target * n / 1_000_000
        verdict = f"target <= {scaled:.0f} s: {'met' if r['wall'] <= scaled else 'MISSED'}"
        print(f"{name:22s} {r['networks']:9,d} networks  wall {r['wall']:7.1f} s  CPU {r['cpu']:7.1f} s "
              f"({r['per_network_ms_cpu']:.3f} ms per network)  load avg before {load:.1f}  "
              f"fps {r['fps_mean']:.0f} +- {r['fps_std']:.0f}  {verdict}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(main())
