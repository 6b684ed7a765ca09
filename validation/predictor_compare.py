"""The learned predictor (`accelmodel.predictor`) on held-out networks: error against training-set size.

For each case (space, spec, data set, target) networks are drawn once (seeded), split by network into a
held-out test set and a training pool, and every model is fitted on the first n networks of the pool:

- ``isolated``: the analytical per-slot baseline (the fixed layers plus every slot costed alone; no training);
- ``lut``: the per-op lookup table (an additive model fitted to the n networks);
- ``learned``: the predictor (`predictor.fit`, default: analytical slot features + per-op terms + MLP);
- ``learned-one-hot``: the same fitted on the choices alone (`features="one-hot"`, EH-DNAS's kind of input).

`size_table()` computes it (builds are cached as parquet files under ``.accelmodel-cache/predictor`` in the
working directory, gitignored in the checkout); the report reads the stored table ``validation/data/predictor_sizes.csv`` and re-checks
the 1,000-network rows live. Regenerate the stored table (3.7 min on 2 cores with the builds cached, ~2 min more
to build them):

    python -m accelmodel.validation.predictor_compare [--sizes 10,100,1000,10000,100000] [--cases darts-generic,...]

(re-running some cases keeps the stored rows of the others).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parent / "data" / "predictor_sizes.csv"
#: Where builds are cached (gitignored in the checkout; relative to the working directory).
CACHE = Path(".accelmodel-cache") / "predictor"
SIZES = (10, 100, 1_000, 10_000, 100_000)
MODELS = ("isolated", "lut", "learned", "learned-one-hot")


@dataclass(frozen=True)
class Case:
    name: str
    space: str
    arch: str
    dataset: str
    target: str
    test: int
    pool: int          # training networks available (NAS-Bench-201 has 15,625 in all)
    what: str

    @property
    def label(self) -> str:
        return f"{self.space} / {self.arch} / {self.target}"


CASES = (
    Case("darts-pipeline", "darts", "fpga-e2e-large", "cifar10", "throughput_fps", 10_000, 100_000,
         "DARTS (EH-DNAS's C = 16 network), pipeline paradigm, large budget"),
    Case("darts-generic", "darts", "generic-large", "cifar10", "throughput_fps", 10_000, 100_000,
         "DARTS (EH-DNAS's C = 16 network), generic paradigm, large budget"),
    Case("nb201-fpga-latency", "nasbench201", "fpga-zc706", "cifar10", "latency_ms", 5_625, 10_000,
         "NAS-Bench-201 on HW-NAS-Bench's FPGA (layerwise latency, HW-NAS-Bench's fpga_latency)"),
    Case("nb201-fpga-throughput", "nasbench201", "fpga-zc706", "cifar10", "throughput_fps", 5_625, 10_000,
         "NAS-Bench-201 on the ZC706 chunk pipeline (frames/s)"),
    Case("fbnet-fpga-latency", "fbnet", "fpga-zc706", "cifar100", "latency_ms", 10_000, 100_000,
         "FBNet on HW-NAS-Bench's FPGA (layerwise latency)"),
    Case("fbnet-fpga-throughput", "fbnet", "fpga-zc706", "cifar100", "throughput_fps", 10_000, 100_000,
         "FBNet on the ZC706 chunk pipeline (frames/s)"),
)
CASE = {c.name: c for c in CASES}


def case_frames(case: Case, pool: int | None = None, seed: int = 0, cache: Path | None = CACHE):
    """(training pool, test set) of a case: distinct networks, the test set first in draw order. `pool` caps
    the training pool (default the case's). Builds are cached under `cache` (None: no cache)."""
    from ..datasets import build

    pool = case.pool if pool is None else min(pool, case.pool)
    if case.space == "nasbench201":
        key, kwargs = f"{case.space}_{case.arch}_{case.dataset}", {}
    else:
        n = case.test + pool                 # duplicate draws are dropped below (none in 110,000 of either space)
        key, kwargs = f"{case.space}_{case.arch}_{case.dataset}_{n}_{seed}", {"sample": n, "seed": seed}
    path = None if cache is None else Path(cache) / f"{key}_{_model_digest(case)}.parquet"
    if path is not None and path.exists():
        frame = pd.read_parquet(path)
    else:
        frame = build(case.space, case.arch, case.dataset, **kwargs)
        frame = frame.drop(columns=[c for c in ("network",) if c in frame])
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.to_parquet(path)
    from ..datasets import get_space

    column = get_space(case.space).arch_column
    ids = frame[column].map(lambda v: tuple(v) if isinstance(v, (list, np.ndarray)) else v)
    frame = frame.loc[~ids.duplicated().to_numpy()]
    order = np.random.default_rng(seed).permutation(len(frame))
    frame = frame.iloc[order].reset_index(drop=True)
    test = frame.iloc[:case.test]
    train = frame.iloc[case.test:case.test + pool]
    return train, test


def _model_digest(case: Case) -> str:
    """Digest of what a cached build depends on (the spec and its mapper's source), so an edit rebuilds."""
    import hashlib

    from ..datasets.builds import _module_digest
    from ..estimate import configure

    spec, mapper, _ = configure(case.arch)
    return hashlib.sha1(f"{spec.for_space(case.space).digest}:{_module_digest(mapper)}".encode()).hexdigest()[:10]


def evaluate_case(case: Case, sizes=SIZES, models=MODELS, seed: int = 0, cache: Path | None = CACHE,
                  progress=None) -> pd.DataFrame:
    """One row per (training size, model): MAPE, Kendall tau-b, Spearman on the case's test set, fit seconds."""
    from .. import predictor

    sizes = [n for n in sizes if n <= case.pool]
    train, test = case_frames(case, max(sizes), seed, cache)
    rows = []
    for n in sizes:
        n = len(train.iloc[:n])
        fitted = {}
        for model in models:
            if model in ("isolated", "lut", "learned"):
                if "learned" not in fitted:
                    start = time.perf_counter()
                    fitted["learned"] = (predictor.fit(train.iloc[:n], target=case.target, seed=seed),
                                         time.perf_counter() - start)
                p, seconds = fitted["learned"]
                which = model
            else:
                start = time.perf_counter()
                p = predictor.fit(train.iloc[:n], target=case.target, features="one-hot", seed=seed)
                seconds, which = time.perf_counter() - start, "learned"
            a = p.evaluate(test, which)
            rows.append({"case": case.name, "space": case.space, "arch": case.arch, "dataset": case.dataset,
                         "target": case.target, "n_train": n, "n_test": len(test), "model": model,
                         "mape": a.mape, "max_ape": a.max_ape, "kendall_tau": a.kendall_tau, "spearman": a.spearman,
                         "fit_seconds": seconds if model.startswith("learned") else np.nan,
                         "mlp": p.info.get("mlp", "") if model.startswith("learned") else ""})
            if progress:
                progress(rows[-1])
    return pd.DataFrame(rows)


def size_table(cases=CASES, sizes=SIZES, models=MODELS, seed: int = 0, cache: Path | None = CACHE,
               progress=None) -> pd.DataFrame:
    return pd.concat([evaluate_case(c, sizes, models, seed, cache, progress) for c in cases], ignore_index=True)


def load_stored(path: Path = DATA) -> pd.DataFrame | None:
    return pd.read_csv(path, comment="#") if Path(path).exists() else None


def write_stored(table: pd.DataFrame, path: Path = DATA) -> Path:
    versions = {name: _version(name) for name in ("accelmodel", "scikit-learn", "numpy")}
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0]
    header = (f"# accelmodel.validation.predictor_compare, {stamp}; "
              + ", ".join(f"{k} {v}" for k, v in versions.items()) + f"; load average {load:.1f} at the end\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(f"{path}.tmp")
    with open(tmp, "w") as fh:
        fh.write(header)
        table.to_csv(fh, index=False, float_format="%.6g")
    os.replace(tmp, path)
    return path


def stored_header(path: Path = DATA) -> str:
    if not Path(path).exists():
        return ""
    with open(path) as fh:
        first = fh.readline().strip()
    return first.lstrip("# ") if first.startswith("#") else ""


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--cases", default=",".join(CASE))
    parser.add_argument("--out", default=str(DATA))
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    cases = [CASE[c] for c in args.cases.split(",")]

    def show(row):
        print(f"{row['case']:24s} n={row['n_train']:>7,d} {row['model']:16s} MAPE {100 * row['mape']:7.2f} %  "
              f"tau {row['kendall_tau']:.4f}  fit {row['fit_seconds']:6.1f} s  {row['mlp']}", flush=True)

    table = size_table(cases, sizes, progress=show)
    stored = load_stored(Path(args.out))
    if stored is not None:               # keep the stored rows of the cases not re-run
        table = pd.concat([stored[~stored["case"].isin([c.name for c in cases])], table], ignore_index=True)
        table["order"] = table["case"].map({c: i for i, c in enumerate(CASE)})
        table = table.sort_values(["order", "n_train"], kind="stable").drop(columns="order")
    print(write_stored(table, Path(args.out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
