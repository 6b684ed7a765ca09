"""Our models against HW-NAS-Bench's published NAS-Bench-201 and FBNet metrics.

Reference tables: the NAS-Bench-201 calibration CSV in the reference folder (1,000 CIFAR-10 networks: `index`,
`arch_str`, `eyeriss_latency_ms`, `fpga_latency_ms`) or a user's full HW-NAS-Bench pickle
(``HW-NAS-Bench-v1_0.pickle``: ``data["nasbench201"][dataset]`` holds ``config[i]["arch_str"]`` and one list per
metric, e.g. ``eyeriss_latency``, ``eyeriss_energy``, ``fpga_latency``, ``fpga_energy``; ms and mJ); the FBNet
calibration CSV (500 CIFAR-100 networks: `op_idx_list`, 22 space-separated op indices, and the same latency
columns).

Which of our specs answers which column is `METRIC_SPECS`; a spec that is not installed (e.g. the FPGA model
before it lands) is reported as "model not available", never guessed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..datasets import build
from ..estimate import estimate
from ..specs import SpecError, available_specs
from ..workloads import nasbench201 as build_nasbench201

#: Kendall's tau is taken on latencies rounded to 1 ns (1e-6 ms): HW-NAS-Bench's values hold exact ties (networks
#: that differ only in free ops) which floating-point sums in a model break by rounding noise (issues 3 and 4).
RANK_RESOLUTION_MS = 1e-6

#: reference column -> (our spec, our metric)
METRIC_SPECS = {
    "eyeriss_latency_ms": ("eyeriss-hwnasbench", "latency_ms"),
    "eyeriss_energy_mj": ("eyeriss-hwnasbench", "energy_mj"),
    "fpga_latency_ms": ("fpga-zc706", "latency_ms"),
    "fpga_energy_mj": ("fpga-zc706", "energy_mj"),
}


def reference_dir() -> Path:
    """The reference folder: ../shared/reference beside the checkout unless ACCELMODEL_REFERENCE_DIR says otherwise."""
    default = Path(__file__).resolve().parents[2] / "shared" / "reference"
    return Path(os.environ.get("ACCELMODEL_REFERENCE_DIR", default))


def calibration_csv() -> Path:
    return reference_dir() / "hwnasbench_nb201_cifar10_calibration.csv"


def fbnet_calibration_csv() -> Path:
    return reference_dir() / "hwnasbench_fbnet_cifar100_calibration.csv"


def load_fbnet_reference(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The FBNet reference table: `index` (row number), `op_idx_list` (lists of 22 ints) and its metric columns."""
    path = Path(path) if path is not None else fbnet_calibration_csv()
    if not path.exists():
        raise FileNotFoundError(f"HW-NAS-Bench FBNet reference {path} does not exist (set ACCELMODEL_REFERENCE_DIR)")
    frame = pd.read_csv(path)
    if "op_idx_list" not in frame.columns:
        raise ValueError(f"{path}: missing column 'op_idx_list'; found {list(frame.columns)}")
    frame["op_idx_list"] = [[int(t) for t in str(text).split()] for text in frame["op_idx_list"]]
    frame.insert(0, "index", np.arange(len(frame)))
    return frame


def load_reference(path: str | os.PathLike | None = None, dataset: str = "cifar10") -> pd.DataFrame:
    """Reference table with `index`, `arch_str` and whichever of METRIC_SPECS' columns the file has."""
    path = Path(path) if path is not None else calibration_csv()
    if not path.exists():
        raise FileNotFoundError(f"HW-NAS-Bench reference {path} does not exist (set ACCELMODEL_REFERENCE_DIR "
                                "or pass the path of the calibration CSV or of HW-NAS-Bench-v1_0.pickle)")
    if path.suffix in (".pickle", ".pkl"):
        from ..hwnasbench import load  # data only: a crafted pickle cannot run code

        data = load(path)
        try:
            table = data["nasbench201"][dataset]
        except (KeyError, TypeError):
            raise ValueError(f"{path}: no nasbench201/{dataset} table (a HW-NAS-Bench pickle has "
                             f"data['nasbench201'][dataset])") from None
        configs = table["config"]
        n = len(configs)
        frame = pd.DataFrame({"index": np.arange(n), "arch_str": [c["arch_str"] for c in configs]})
        for key, col in (("eyeriss_latency", "eyeriss_latency_ms"), ("eyeriss_energy", "eyeriss_energy_mj"),
                         ("fpga_latency", "fpga_latency_ms"), ("fpga_energy", "fpga_energy_mj")):
            if key in table:
                frame[col] = np.asarray(table[key], dtype=float)
        return frame
    frame = pd.read_csv(path)
    missing = {"index", "arch_str"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}; found {list(frame.columns)}")
    return frame


def spec_available(name: str) -> bool:
    """A built-in spec name, or the path of a spec file."""
    if os.path.isfile(name):
        return True
    try:
        return name in available_specs()
    except SpecError:
        return False


#: search space -> the reference column naming each network
NETWORK_COLUMNS = {"nasbench201": "arch_str", "fbnet": "op_idx_list"}


def predict(archs, spec_name: str, dataset: str = "cifar10", space: str = "nasbench201") -> pd.DataFrame:
    """Our latency (ms) and energy (mJ) of networks of `space` on one spec (batch 1), in input order: NAS-Bench-201
    arch strings or FBNet op lists.

    The dataset builder does the work: each unique layer costed once under a layer-additive mapper, and a
    whole-network mapper's batch path (or `map_network`) otherwise."""
    table = build(space, spec_name, dataset, archs=list(archs))
    return table[["latency_ms", "energy_mj"]].reset_index(drop=True)


def compare(reference: pd.DataFrame, dataset: str = "cifar10", limit: int | None = None,
            specs: dict | None = None, space: str = "nasbench201") -> dict:
    """Per reference column: the pairs (`frame`) and their `stats.Agreement`, or a reason it is missing.

    `limit` takes an evenly spaced subset of the rows (the full 15,625-network pickle takes minutes);
    `specs` overrides METRIC_SPECS entries ({reference column: (spec name or path, "latency_ms"|"energy_mj")});
    `space` is ``nasbench201`` (networks in `arch_str`) or ``fbnet`` (in `op_idx_list`)."""
    from .stats import agreement

    if space not in NETWORK_COLUMNS:
        raise ValueError(f"space {space!r} is not one of {list(NETWORK_COLUMNS)}")
    key = NETWORK_COLUMNS[space]
    ref = reference
    if limit is not None and len(ref) > limit:
        ref = ref.iloc[np.linspace(0, len(ref) - 1, limit).round().astype(int)].reset_index(drop=True)
    out = {}
    predictions: dict[str, pd.DataFrame] = {}
    for column, (spec_name, metric) in {**METRIC_SPECS, **(specs or {})}.items():
        if column not in ref.columns:
            continue
        if not spec_available(spec_name):
            out[column] = {"spec": spec_name, "status": f"model not available (spec {spec_name!r} is not installed)"}
            continue
        if spec_name not in predictions:
            predictions[spec_name] = predict(ref[key], spec_name, dataset, space)
        frame = pd.DataFrame({"index": ref["index"], key: ref[key],
                              "reference": ref[column].to_numpy(float),
                              "predicted": predictions[spec_name][metric].to_numpy(float)})
        out[column] = {"spec": spec_name, "status": "ok", "frame": frame,
                       "agreement": agreement(frame["predicted"], frame["reference"], rank_resolution=RANK_RESOLUTION_MS)}
    return out


def compare_examples(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Every metric of hwnasbench_examples.yaml (values the HW-NAS-Bench API prints) against our model:
    one row per (network, data set, metric) with published, model, relative error and status."""
    import yaml

    from ..workloads import fbnet as build_fbnet

    path = Path(path) if path is not None else reference_dir() / "hwnasbench_examples.yaml"
    if not path.exists():
        raise FileNotFoundError(f"HW-NAS-Bench examples {path} do not exist (set ACCELMODEL_REFERENCE_DIR)")
    data = yaml.safe_load(path.read_text())
    metric_cols = {"eyeriss_latency": "eyeriss_latency_ms", "eyeriss_energy": "eyeriss_energy_mj",
                   "fpga_latency": "fpga_latency_ms", "fpga_energy": "fpga_energy_mj"}
    rows = []
    for space, entries in data.items():
        for entry in entries:
            if space == "nasbench201":
                name = f"NB201 #{entry['index']}"
                build_network = lambda ds, e=entry: build_nasbench201(e["arch_str"], dataset=ds)
            elif space == "fbnet":
                name = "FBNet " + "".join(str(i) for i in entry["op_idx_list"])
                build_network = lambda ds, e=entry: build_fbnet(e["op_idx_list"], dataset=ds)
            else:
                rows.append({"network": space, "dataset": "-", "metric": "-", "published": None, "model": None,
                             "rel_error": None, "spec": "-", "status": "no model mapping"})
                continue
            for dataset, metrics in entry.items():
                if not isinstance(metrics, dict):
                    continue
                cache = {}
                for key, published in metrics.items():
                    col = metric_cols.get(key)
                    if col is None:
                        continue
                    spec_name, what = METRIC_SPECS[col]
                    row = {"network": name, "dataset": dataset, "metric": col, "published": float(published),
                           "spec": spec_name}
                    if not spec_available(spec_name):
                        rows.append({**row, "model": None, "rel_error": None,
                                     "status": f"model not available (spec {spec_name!r} is not installed)"})
                        continue
                    try:
                        if spec_name not in cache:
                            cache[spec_name] = estimate(build_network(dataset), spec_name)
                        value = getattr(cache[spec_name], what)
                        rows.append({**row, "model": value, "rel_error": value / float(published) - 1, "status": "ok"})
                    except Exception as exc:  # reported in the row
                        rows.append({**row, "model": None, "rel_error": None, "status": f"failed: {exc}"})
    return pd.DataFrame(rows)
