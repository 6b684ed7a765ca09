"""Training the learned predictor on 100,000 networks, target <= 5 minutes on 2 cores (issue 17).

Each case is a fresh process: the training frame (DARTS on EH-DNAS's large budgets, 100,000 sampled networks, as
`datasets.build` returns it; built once and cached under ``.accelmodel-cache/predictor``, its build time is
`bench_darts.py`'s business) is read, then `predictor.fit` runs with its defaults (analytical slot features,
per-op terms, MLP with early stopping). Reported: fit wall and CPU time (process + BLAS threads), MLP epochs,
the load average before the run, and the error on 10,000 held-out networks.

Run: .venv/bin/python benchmarks/bench_predictor.py [--quick]     (--quick: 10,000 networks)
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

CASES = {
    # name: (case of accelmodel.validation.predictor_compare, target seconds for 100,000 networks)
    "fit-darts-pipeline-100k": ("darts-pipeline", 300.0),
    "fit-darts-generic-100k": ("darts-generic", 300.0),
}


def child(name: str, n: int) -> None:
    from accelmodel import predictor
    from accelmodel.validation import predictor_compare as pc

    case = pc.CASE[CASES[name][0]]
    train, test = pc.case_frames(case)                       # the cached build (built on first use)
    train = train.iloc[:n]
    cpu0 = time.process_time()
    start = time.perf_counter()
    p = predictor.fit(train, target=case.target)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    a = p.evaluate(test)
    print(json.dumps({"wall": wall, "cpu": cpu, "networks": len(train), "epochs": p.info.get("mlp_epochs"),
                      "mlp": p.info.get("mlp"), "mape": a.mape, "tau": a.kendall_tau,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> int:
    n = 10_000 if "--quick" in sys.argv else 100_000
    failed = []
    for name, (_, target) in CASES.items():
        load = os.getloadavg()[0]
        res = subprocess.run([sys.executable, __file__, "--child", name, str(n)], capture_output=True, text=True)
        if res.returncode != 0:
            print(f"{name:26s} FAILED\n{res.stderr[-2000:]}")
            failed.append(name)
            continue
        r = json.loads(res.stdout.strip().splitlines()[-1])
        scaled = target * n / 100_000
        verdict = f"target <= {scaled:.0f} s: {'met' if r['wall'] <= scaled else 'MISSED'}"
        print(f"{name:26s} {r['networks']:8,d} networks  fit wall {r['wall']:6.1f} s  CPU {r['cpu']:6.1f} s  "
              f"{r['epochs']} epochs ({r['mlp']})  peak {r['peak_mb']:.0f} MB  load avg before {load:.1f}  "
              f"held-out MAPE {100 * r['mape']:.2f} %, tau-b {r['tau']:.4f}  {verdict}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(main())
