"""Regenerate the AccelForge cross-check CSVs (validation/data/accelforge_fixed.csv, accelforge_mapper.csv).

    python -m accelmodel.validation.regenerate_crosscheck [--only fixed|mapper|mapper_rs_array] [--spec S]
        [--layer L] [--redo]

Resumable: a (spec, layer) already in a CSV is skipped unless --redo; each result is appended as soon as it
is done, with the AccelForge and hwcomponents versions used. The fixed-mapping evaluations take a second
each; AccelForge's mapper takes minutes per layer (run it with nohup and nice on a shared machine).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import traceback

import pandas as pd

from . import crosscheck as C


def _done(path) -> set:
    if not path.exists():
        return set()
    df = pd.read_csv(path)
    return set(zip(df["spec"], df["layer"]))


def _append(path, row: dict) -> None:
    """Add one row and rewrite the file (rows of the two specs have different level columns)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame([row])
    if path.exists():
        df = pd.concat([pd.read_csv(path), df], ignore_index=True)
    tmp = path.with_suffix(".tmp")
    df.to_csv(tmp, index=False)
    tmp.replace(path)


def run(only: str | None, specs, layers, redo: bool) -> int:
    failures = 0
    todo = [(s, k, l) for s in specs for k, l in C.crosscheck_layers() if not layers or l.name in layers]
    for what, path in (("fixed", C.FIXED_CSV), ("mapper", C.MAPPER_CSV), ("mapper_rs_array", C.MAPPER_RS_CSV)):
        if only and only != what:
            continue
        done = set() if redo else _done(path)
        # the mapper's cost grows with the MACs: small layers first so results arrive early
        if what == "mapper_rs_array":
            todo_here = [t for t in todo if t[0] in C.EYERISS_SPECS]
        else:
            todo_here = todo
        for spec, kind, layer in sorted(todo_here, key=lambda t: (t[2].macs, t[0])) if what != "fixed" else todo_here:
            if (spec, layer.name) in done:
                continue
            t0 = time.time()
            print(f"[{dt.datetime.now(dt.UTC):%H:%M:%S}] {what} {spec} {layer.name} ...", flush=True)
            try:
                if what == "fixed":
                    mine = C.ours(spec, layer)
                    res = C.accelforge_fixed(spec, layer, mine.mapping)
                    res["mapping"] = str(mine.mapping)
                else:
                    res = C.accelforge_best(spec, layer, rs_array=(what == "mapper_rs_array"))
            except Exception:  # keep going with the other layers; the failure is logged and reported
                failures += 1
                traceback.print_exc()
                continue
            row = {"spec": spec, "layer": layer.name, "kind": kind, **res, "versions": C.accelforge_versions(),
                   "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
            _append(path, row)
            print(f"    done in {time.time() - t0:.1f} s: energy {res['af_energy_pj']:.4g} pJ, "
                  f"{res['af_cycles']:.4g} cycles", flush=True)
    return failures


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=("fixed", "mapper", "mapper_rs_array"),
                    help="mapper_rs_array: AccelForge's mapper with the Eyeriss array held to the RS spatial space "
                         "(all R filter rows spread, besides them only p, m, c, g)")
    ap.add_argument("--spec", action="append", choices=C.SPECS)
    ap.add_argument("--layer", action="append")
    ap.add_argument("--redo", action="store_true", help="recompute rows already in the CSVs (appends)")
    args = ap.parse_args(argv)
    failures = run(args.only, args.spec or list(C.SPECS), args.layer, args.redo)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
