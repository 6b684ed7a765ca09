"""The `accelmodel` command: estimate one network, build whole-space tables, list specs, plot, validate."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Callable


#: --objective is checked by the spec's mapper (each lists what it supports), so the message names the mapper's
#: choices; the default is the spec's (per workload space where the spec says so).
OBJECTIVE_HELP = ("latency, energy or edp (every mapper); balanced (eyeriss_rs: DNN-Chip Predictor's rule); "
                  "default: the spec's")


def _split(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(f"{text!r}: empty entry in a comma-separated list")
    return items


def _int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= `minimum`."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} must be >= {minimum}")
        return value
    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="accelmodel", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("estimate", help="latency and energy of one network on one accelerator")
    e.add_argument("network", help="a name (resnet18), nb201:<arch_str>, fbnet:<22 ints>, darts:<genotype> or an ONNX path")
    e.add_argument("--arch", required=True, help="spec name or YAML path (see `accelmodel archs`)")
    e.add_argument("--dataset", default=None, help="data set of nb201:/fbnet:/darts: networks")
    e.add_argument("--batch", type=_positive_int, default=1)
    e.add_argument("--objective", default=None, help=OBJECTIVE_HELP)
    fmt = e.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="totals and layers as JSON")
    fmt.add_argument("--csv", action="store_true", help="the per-layer table as CSV")

    b = sub.add_parser("build", help="a whole-space table (parquet or HW-NAS-Bench pickle), or the HW-NAS-Bench "
                                     "drop-in file (`build hwnasbench --out HW-NAS-Bench-v1_0.pickle`)")
    b.add_argument("space", help="nasbench201, fbnet, darts (parquet only), or hwnasbench (both HW-NAS-Bench "
                                 "spaces, every data set and metric key of HW-NAS-Bench-v1_0.pickle)")
    b.add_argument("--arch", type=_split, default=None, help="spec name(s), comma-separated (not for hwnasbench)")
    b.add_argument("--dataset", type=_split, default=None, help="data set(s), comma-separated")
    b.add_argument("--out", required=True, help="output path: .parquet, .pickle or .pkl")
    b.add_argument("--sample", type=_positive_int, default=None, help="number of random networks")
    b.add_argument("--seed", type=_non_negative_int, default=None, help="seed of --sample (default 0)")
    b.add_argument("--archs-file", default=None,
                   help="networks to build, one per line (NAS-Bench-201 arch strings or indices, FBNet op lists, "
                        "DARTS genotypes or codes)")
    b.add_argument("--index-file", default=None, help="NAS-Bench-201 index: CSV (index,arch_str) or HW-NAS-Bench "
                                                       "pickle (default: NAS-Bench-201's own order, generated)")
    b.add_argument("--merge", default=None, metavar="ORIGINAL.pickle",
                   help="hwnasbench: copy the measured devices' values from HW-NAS-Bench's original file")
    b.add_argument("--overwrite", action="store_true", help="replace --out if it exists (default: add to a pickle, "
                                                            "refuse a parquet file)")
    b.add_argument("--objective", default=None, help=OBJECTIVE_HELP)
    b.add_argument("--batch", type=_positive_int, default=None, help="batch size (default 1)")
    b.add_argument("--workers", type=_non_negative_int, default=None, help="local processes (default: all cores)")
    b.add_argument("--dask", default=None, metavar="ADDRESS", help="dask.distributed scheduler, tcp://host:port")
    b.add_argument("--no-progress", action="store_true")

    sub.add_parser("archs", help="list the built-in accelerator specs")

    pl = sub.add_parser("plot", help="PNG plots")
    psub = pl.add_subparsers(dest="plot", required=True)
    pb = psub.add_parser("layers", help="per-layer latency and energy breakdown of one network")
    pb.add_argument("network")
    pb.add_argument("--arch", required=True)
    pb.add_argument("--dataset", default=None)
    pb.add_argument("--batch", type=_positive_int, default=1)
    pb.add_argument("--objective", default=None, help=OBJECTIVE_HELP)
    pb.add_argument("--out", required=True, help="PNG path")
    for name, text in (("macs", "latency vs MACs over a built table"), ("pareto", "latency-energy Pareto front")):
        pp = psub.add_parser(name, help=text)
        pp.add_argument("table", help="a table from `accelmodel build` (.parquet or .csv)")
        pp.add_argument("--out", required=True, help="PNG path")
        if name == "pareto":
            pp.add_argument("--x", default="latency_ms")
            pp.add_argument("--y", default="energy_mj")

    v = sub.add_parser("validate", help="the validation report against published numbers")
    v.add_argument("--all", action="store_true", help="the full (slow) report")
    v.add_argument("--out", default=None, help="report folder")
    return p


#: What the library raises for bad input (its own errors are ValueError subclasses) and for unusable files.
USER_ERRORS = (ValueError, KeyError, OSError, NotImplementedError, ImportError)


def _one_line(exc: BaseException) -> str:
    text = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
    return text or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Run one command. Any error ends as one line on stderr and a non-zero exit: 2 for bad input or an
    unusable file, 3 for anything else (an internal error; ACCELMODEL_TRACEBACK=1 shows the traceback)."""
    args = _parser().parse_args(argv)
    try:
        return {"estimate": _estimate, "build": _build, "archs": _archs, "plot": _plot,
                "validate": _validate}[args.command](args)
    except BrokenPipeError:
        # the reader went away (e.g. `| head`): stop quietly, and keep Python from complaining at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except USER_ERRORS as exc:
        if os.environ.get("ACCELMODEL_TRACEBACK"):
            raise
        print(f"accelmodel {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 -- a bug still ends in one line, with a way to see the traceback
        if os.environ.get("ACCELMODEL_TRACEBACK"):
            raise
        print(f"accelmodel {args.command}: internal error: {type(exc).__name__}: {_one_line(exc)} "
              "(set ACCELMODEL_TRACEBACK=1 for the traceback)", file=sys.stderr)
        return 3


def _estimate(args) -> int:
    import pandas as pd

    from .estimate import estimate

    est = estimate(args.network, args.arch, objective=args.objective, dataset=args.dataset, batch=args.batch)
    cols = [c for c in ("name", "type", "macs", "latency_ms", "energy_mj", "utilization", "mapping")
            if c in est.layers.columns]
    if args.json:
        payload = {"network": est.network, "arch": est.arch, "objective": est.objective,
                   "latency_ms": est.latency_ms, "energy_mj": est.energy_mj, "power_mw": est.power_mw,
                   "macs": est.macs, "throughput_gops": est.throughput_gops, "resources": est.resources,
                   "layers": json.loads(est.layers[cols].to_json(orient="records"))}
        print(json.dumps(payload, indent=2, default=str))
    elif args.csv:
        est.layers.to_csv(sys.stdout, index=False)
    else:
        with pd.option_context("display.max_rows", None, "display.width", 160, "display.max_colwidth", 60):
            print(est.layers[cols].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        print()
        print(est)
    return 0


#: `build` options that only apply to some spaces: option -> the spaces that take it.
_BUILD_ONLY_FOR = {"arch": ("nasbench201", "fbnet"), "dataset": ("nasbench201", "fbnet"),
                   "sample": ("nasbench201", "fbnet"), "seed": ("nasbench201", "fbnet"),
                   "archs_file": ("nasbench201", "fbnet"), "index_file": ("nasbench201",),
                   "objective": ("nasbench201", "fbnet"), "batch": ("nasbench201", "fbnet"),
                   "merge": ("hwnasbench",)}


def _read_archs_file(path: str) -> list[str]:
    if os.path.isdir(path):
        raise ValueError(f"--archs-file {path!r} is a folder; give a text file with one network per line")
    if not os.path.exists(path):
        raise FileNotFoundError(f"--archs-file {path!r} does not exist")
    try:
        with open(path, encoding="utf-8") as fh:
            lines = [line.strip() for line in fh if line.strip() and not line.startswith("#")]
    except UnicodeDecodeError:
        raise ValueError(f"--archs-file {path!r} is not a text file (one network per line)") from None
    return [int(line) if line.isascii() and line.isdigit() else line for line in lines]  # NAS-Bench-201 indices


def _build(args) -> int:
    from .datasets import build_hwnasbench, build_many, check_writable

    check_writable(args.out)  # before any work
    for option, spaces in _BUILD_ONLY_FOR.items():
        if getattr(args, option) is not None and args.space in ("nasbench201", "fbnet", "hwnasbench") \
                and args.space not in spaces:
            raise ValueError(f"--{option.replace('_', '-')} does not apply to `build {args.space}` (only to "
                             f"{' / '.join(spaces)})")
    if args.space == "hwnasbench":
        build_hwnasbench(args.out, merge=args.merge, workers=args.workers, dask_address=args.dask,
                         progress=not args.no_progress, overwrite=args.overwrite)
        print(f"wrote {args.out}: HW-NAS-Bench-v1_0 layout (nasbench201 and fbnet; eyeriss-hwnasbench, fpga-zc706"
              f"{', measured devices from ' + args.merge if args.merge else ', measured devices NaN'})")
        return 0
    if args.arch is None:
        raise ValueError(f"`build {args.space}` needs --arch (spec names, see `accelmodel archs`)")
    archs = _read_archs_file(args.archs_file) if args.archs_file else None
    datasets = args.dataset or [None]
    frames = build_many(args.space, args.arch, datasets, out=args.out, archs=archs, sample=args.sample,
                        seed=0 if args.seed is None else args.seed, index_file=args.index_file,
                        workers=args.workers, dask_address=args.dask, objective=args.objective,
                        batch=1 if args.batch is None else args.batch, progress=not args.no_progress,
                        overwrite=args.overwrite)
    for f in frames:
        print(f"{f.attrs['space']}/{f.attrs['dataset']} on {f.attrs['arch']}: {len(f)} networks, latency "
              f"{f['latency_ms'].min():.4g}..{f['latency_ms'].max():.4g} ms, energy "
              f"{f['energy_mj'].min():.4g}..{f['energy_mj'].max():.4g} mJ")
    print(f"wrote {args.out}")
    return 0


def _archs(args) -> int:
    from .specs import available_specs

    specs = available_specs()
    width = max(map(len, specs)) if specs else 0
    for name, desc in specs.items():
        print(f"{name:<{width}}  {desc}")
    return 0


def _read_table(path: str):
    import pandas as pd

    if not os.path.exists(path):
        raise FileNotFoundError(f"table {path!r} does not exist")
    if path.endswith(".parquet"):
        return pd.read_parquet(path)
    if path.endswith(".csv"):
        return pd.read_csv(path)
    raise ValueError(f"table {path!r}: expected a .parquet or .csv file from `accelmodel build`")


def _plot(args) -> int:
    from . import plots

    if args.plot == "layers":
        from .estimate import estimate

        est = estimate(args.network, args.arch, objective=args.objective, dataset=args.dataset, batch=args.batch)
        path = plots.layer_breakdown(est, args.out)
    elif args.plot == "macs":
        path = plots.latency_vs_macs(_read_table(args.table), args.out)
    else:
        path = plots.pareto(_read_table(args.table), args.out, x=args.x, y=args.y)
    print(f"wrote {path}")
    return 0


def _validate(args) -> int:
    try:
        from .validation import report
    except ImportError as exc:
        raise NotImplementedError(f"the validation report is not installed here ({exc})") from None
    path = report.write_report(args.out, args.all)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
