"""HW-NAS-Bench drop-in: the v1_0 pickle layout, its reader and an API that answers like the original.

Layout of ``HW-NAS-Bench-v1_0.pickle`` (from the HW-NAS-Bench API code):

- ``data["nasbench201"][dataset][metric][arch_index]`` for the metrics of `NB201_METRICS` (``eyeriss_latency``
  in ms, ``eyeriss_energy`` in mJ, ``fpga_latency``, ...); ``data["nasbench201"][dataset]["config"]
  [arch_index]`` is NAS-Bench-201's network config ``{'name': 'infer.tiny', 'C': 16, 'N': 5, 'arch_str':
  ..., 'num_classes': ...}``; datasets ``cifar10``, ``cifar100``, ``ImageNet16-120``.
- ``data["fbnet"][metric]`` is one lookup table per metric of `FBNET_METRICS`, block key -> value, over both
  data sets (``cifar100`` and ``ImageNet``): ``ConvNorm_H.._W.._Cin.._Cout.._kernel.._stride.._group..`` (stem
  and header), ``ConvBlock_H.._W.._Cin.._Cout.._exp.._kernel.._stride.._group..``, ``Skip_H.._W.._Cin.._Cout..
  _stride..``, ``AvgP_H.._W.._Cin.._Cout.._kernel.._stride..`` and ``FC_Cin.._Cout..``, H/W being the
  block's input size. A network's metric is the sum over its blocks.

accelmodel writes the same layout with built-in Python types only (lists, dicts, floats, ints, strings), so
the file opens with any numpy version. The metric prefix is the HW-NAS-Bench device name for the two specs
that model its devices (``eyeriss-hwnasbench`` -> ``eyeriss``, ``fpga-zc706`` -> ``fpga``) and the spec name
(``-`` -> ``_``) for any other; ``<device>_arithmetic_intensity`` is MACs per DRAM byte of the chosen
mappings (layer-additive mappers). NAS-Bench-201 entries are lists in index order when a build covers
indices 0..n-1, dicts keyed by index otherwise. Two keys the original API never reads: ``data["accelmodel"]``
records which spec wrote which prefix (so a later build adds to a file or refuses, never silently replaces
another spec's or HW-NAS-Bench's own values) and ``data["fbnet"]["accelmodel_networks"]`` the built FBNet
networks' own totals.
"""

from __future__ import annotations

import importlib
import math
import os
from typing import Any

import numpy as np

from . import safe_pickle

# By module path: the package binds the names `fbnet` / `nasbench201` to the builder functions.
fbnet_mod = importlib.import_module("accelmodel.workloads.fbnet")
nb201_mod = importlib.import_module("accelmodel.workloads.nasbench201")

#: Spec name -> HW-NAS-Bench device name.
DEVICES = {"eyeriss-hwnasbench": "eyeriss", "fpga-zc706": "fpga"}
SPACES = ("nasbench201", "fbnet")
#: Spaces whose metrics the layout keeps as per-block lookup tables (a network's value is the sum of its blocks').
LOOKUP_TABLE_SPACES = ("fbnet",)
NB201_DATASETS = tuple(nb201_mod.DATASETS)
FBNET_DATASETS = ("cifar100", "ImageNet")
#: The original API's metric lists (what it reads from its own file).
NB201_METRICS = ("edgegpu_latency", "edgegpu_energy", "raspi4_latency", "edgetpu_latency", "pixel3_latency",
                 "eyeriss_latency", "eyeriss_energy", "eyeriss_arithmetic_intensity", "fpga_latency",
                 "fpga_energy")
FBNET_METRICS = ("edgegpu_latency", "edgegpu_energy", "raspi4_latency", "pixel3_latency", "eyeriss_latency",
                 "eyeriss_energy", "fpga_latency", "fpga_energy")
#: Devices HW-NAS-Bench measured on hardware: no model here (NaN, or copied from an original file).
MEASURED_DEVICES = ("edgegpu", "raspi4", "edgetpu", "pixel3")
PROVENANCE = "accelmodel"
EXTRA_KEYS = ("accelmodel_networks",)
#: What ``<device>_arithmetic_intensity`` means in files accelmodel writes.
ARITHMETIC_INTENSITY = ("MACs per DRAM byte of the chosen mappings: network MACs / (DRAM words read and written "
                        "x word_bits / 8), summed over the network's layers")


class LayoutConflictError(ValueError):
    """A build would replace values that another spec (or HW-NAS-Bench itself) wrote into a file, or would
    key other networks under the same indices."""


def device_name(arch: str) -> str:
    return DEVICES.get(arch, arch.replace("-", "_"))


def _fbnet_dataname(dataset: str) -> str:
    return "ImageNet" if fbnet_mod.canonical_dataset(dataset) == "imagenet" else "cifar100"


def nb201_config(arch_str: str, dataset: str) -> dict:
    """NAS-Bench-201's config dict for `arch_str` on `dataset` (what `get_net_config` returns)."""
    return {"name": "infer.tiny", "C": nb201_mod.STEM_CHANNELS, "N": nb201_mod.CELLS_PER_STAGE,
            "arch_str": arch_str, "num_classes": nb201_mod.DATASETS[dataset][1]}


def to_builtin(value):
    """`value` with numpy arrays and scalars turned into lists and Python numbers (dicts and lists walked)."""
    if isinstance(value, dict):
        return {k: to_builtin(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_builtin(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_builtin(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


# ---- checks before a build writes into a file ----------------------------------------------------------

def check_space(space: str) -> None:
    if space not in SPACES:
        raise ValueError(f"the HW-NAS-Bench pickle layout holds {list(SPACES)} builds, not {space!r}; write it "
                         "to .parquet")


def check_device_keys(arches) -> None:
    """Two specs of one build must not write the same keys (e.g. ``eyeriss-hwnasbench`` and ``eyeriss``: both
    ``eyeriss_*``)."""
    owner: dict[str, str] = {}
    for arch in arches:
        dev = device_name(arch)
        if dev in owner and owner[dev] != arch:
            stands = f" ({owner[dev]} stands for HW-NAS-Bench's {dev} device)" if owner[dev] in DEVICES else ""
            raise ValueError(f"arch {owner[dev]!r} and {arch!r} would both write the keys {dev}_*{stands}; "
                             "build them to separate files (or one parquet table)")
        owner[dev] = arch


def writers(data: dict) -> dict[str, str]:
    """Device prefix -> the spec that wrote it, as recorded in a file accelmodel wrote."""
    return dict(data.get(PROVENANCE, {}).get("writers", {}))


def _tables_of(data: dict, space: str) -> list[dict]:
    if space == "fbnet":
        return [data.get("fbnet", {})]
    return [t for t in data.get("nasbench201", {}).values() if isinstance(t, dict)]


def _check_writer(data: dict, space: str, arch: str) -> None:
    dev = device_name(arch)
    owner = writers(data).get(dev)
    if owner is not None:
        if owner != arch:
            raise LayoutConflictError(f"its keys {dev}_* were written by arch {owner!r}; {arch!r} would replace them")
        return
    for table in _tables_of(data, space):
        foreign = sorted(k for k in table if isinstance(k, str) and k.startswith(dev + "_"))
        if foreign:
            raise LayoutConflictError(
                f"it holds {foreign[0]!r}, which accelmodel did not write (e.g. HW-NAS-Bench's own values); "
                f"{arch!r} would replace it. To combine accelmodel's models with HW-NAS-Bench's file use "
                "build_hwnasbench(merge=...) / `accelmodel build hwnasbench --merge`")


def _check_networks(data: dict, space: str, dataset: str, columns: dict) -> None:
    if space == "nasbench201":
        per = data.get("nasbench201", {}).get(dataset)
        if not isinstance(per, dict) or "config" not in per:
            return
        keys, strings = _nb201_keys(columns)
        old = per["config"]
        items = list(old.items()) if isinstance(old, dict) else list(enumerate(old))
        mine = list(zip(keys, strings))
        theirs = [(k, c.get("arch_str") if isinstance(c, dict) else None) for k, c in items]
        if [k for k, _ in theirs] != [k for k, _ in mine]:
            raise LayoutConflictError(f"nasbench201/{dataset} holds {len(theirs)} other networks than this build's "
                                      f"{len(mine)}; build the same networks (or write another file)")
        for (k, a), (_, b) in zip(mine, theirs):
            if b is None or nb201_mod.arch_string(nb201_mod.parse_arch(b)) != a:
                raise LayoutConflictError(f"nasbench201/{dataset} index {k!r} is {b!r} there and {a!r} here (another "
                                          "index order)")
    else:
        nets = data.get("fbnet", {}).get("accelmodel_networks", {}).get(_fbnet_dataname(dataset))
        if nets is not None and "op_idx_list" in columns and [list(x) for x in nets["op_idx_list"]] != \
                [list(x) for x in columns["op_idx_list"]]:
            raise LayoutConflictError(f"fbnet/{_fbnet_dataname(dataset)} holds the totals of other networks than "
                                      "this build's")


def check_can_add(data: dict, planned) -> None:
    """Raise LayoutConflictError if builds `planned` (``(space, dataset, arch, identity columns)`` each) cannot
    be added to `data` (see `to_hwnasbench`); nothing is changed."""
    for space, dataset, arch, columns in planned:
        check_space(space)
        _check_writer(data, space, arch)
        _check_networks(data, space, dataset, columns)


def _nb201_keys(columns) -> tuple[list, list[str]]:
    strings = [str(s) for s in columns["arch_str"]]
    if "index" in columns:
        return [int(i) for i in columns["index"]], strings
    return list(strings), strings


# ---- writing ---------------------------------------------------------------------------------------

def to_hwnasbench(builds, data: dict | None = None) -> dict:
    """Add builds to a HW-NAS-Bench-layout dict (a new one by default) and return it.

    `builds` is a list of ``(space, dataset, arch, frame, lookup)``: `frame` from `accelmodel.datasets.build`;
    `lookup` (FBNet) is ``{"latency": {key: ms}, "energy": {key: mJ}}`` from `datasets.fbnet_lookup_table`,
    or None. A build adds its own keys and replaces those it wrote before; it raises LayoutConflictError
    instead of replacing keys of another spec or of HW-NAS-Bench, or when `data` holds other networks.
    """
    data = {} if data is None else data
    for space, dataset, arch, frame, lookup in builds:
        check_space(space)
        columns = {c: frame[c].tolist() for c in ("index", "arch_str", "op_idx_list") if c in frame}
        _check_writer(data, space, arch)
        _check_networks(data, space, dataset, columns)
        dev = device_name(arch)
        data.setdefault(PROVENANCE, {"writers": {}, "arithmetic_intensity": ARITHMETIC_INTENSITY})
        data[PROVENANCE]["writers"][dev] = arch
        if space == "nasbench201":
            per = data.setdefault("nasbench201", {}).setdefault(dataset, {})
            keys, strings = _nb201_keys(columns)
            dense = keys == list(range(len(keys)))
            configs = [nb201_config(s, dataset) for s in strings]
            per["config"] = configs if dense else dict(zip(keys, configs))
            for col, metric in (("latency_ms", "latency"), ("energy_mj", "energy"),
                                ("arithmetic_intensity", "arithmetic_intensity")):
                if col in frame:
                    values = [float(v) for v in frame[col].tolist()]
                    per[f"{dev}_{metric}"] = values if dense else dict(zip(keys, values))
        else:
            fb = data.setdefault("fbnet", {})
            if lookup is not None:
                for metric in ("latency", "energy"):
                    fb.setdefault(f"{dev}_{metric}", {}).update({k: float(v) for k, v in lookup[metric].items()})
            nets = fb.setdefault("accelmodel_networks", {}).setdefault(_fbnet_dataname(dataset), {})
            nets["op_idx_list"] = [list(map(int, x)) for x in frame["op_idx_list"]]
            for col in frame.columns:
                if col != "op_idx_list":
                    nets[f"{dev}_{col}"] = to_builtin(frame[col].to_numpy())
    return data


# ---- reading ---------------------------------------------------------------------------------------

def load(path_or_dict) -> dict:
    """A HW-NAS-Bench-layout dict from a file (read as data only: a crafted pickle is refused with
    `safe_pickle.PickleFileError`, never run) or the dict itself."""
    if isinstance(path_or_dict, dict):
        return path_or_dict
    path = os.fspath(path_or_dict)
    data = safe_pickle.load(path, "HW-NAS-Bench file")
    if not isinstance(data, dict):
        raise ValueError(f"HW-NAS-Bench file {path!r}: expected a dict at the top level, got {type(data).__name__}")
    return data


def read_index(path, dataset: str | None = None) -> dict[int, str]:
    """NAS-Bench-201 index -> arch string from a CSV (``index,arch_str``) or a HW-NAS-Bench pickle; see
    `accelmodel.workloads.read_index_file`, the one reader of both layouts."""
    try:
        return nb201_mod.read_index_file(path, dataset)
    except UnicodeDecodeError:
        raise ValueError(f"index file {os.fspath(path)!r} is neither a HW-NAS-Bench pickle (.pickle/.pkl) nor a "
                         "text CSV with index,arch_str columns") from None


class HWNASBenchAPI:
    """The HW-NAS-Bench API over a HW-NAS-Bench-layout pickle (the original file or one accelmodel wrote).

    Same calls as the original: `query_by_index(arch_index, dataname)` returns a dict metric -> float plus
    ``average_hw_metric`` (the product of the latency and energy metrics); `get_net_config(arch_index,
    dataname)`; `get_op_lookup_tables()` (FBNet). On the original file it returns exactly the original's
    metrics; on an accelmodel file, the metrics the file holds. NAS-Bench-201 `arch_index` is an index (or
    an arch string); FBNet `arch_index` is the list of 22 op indices. Unlike the original, bad names and
    indices (negative, fractional, out of range) raise ValueError naming what is allowed, and the file is read
    as data only (`load`).
    """

    def __init__(self, file_path_or_dict, search_space: str = "nasbench201"):
        self.HW_metrics = load(file_path_or_dict)
        if search_space not in ("nasbench201", "fbnet"):
            raise ValueError(f"search_space {search_space!r} is not one of ['nasbench201', 'fbnet']")
        if search_space not in self.HW_metrics:
            raise ValueError(f"search_space {search_space!r} is not in this file; it has {sorted(self.HW_metrics)}")
        self.search_space = search_space
        self._by_str: dict[str, dict[str, Any]] = {}

    # metrics present, in the original's order first
    def _metrics(self, container: dict, known: tuple) -> list[str]:
        names = [k for k in container if k != "config" and k not in EXTRA_KEYS and isinstance(k, str)]
        if all(m in names for m in known):
            return list(known)
        return [m for m in known if m in names] + [m for m in names if m not in known]

    @staticmethod
    def _average(results: dict) -> float:
        values = [v for k, v in results.items() if k.endswith(("_latency", "_energy"))]
        return float(math.prod(values))

    def _nb201(self, dataname: str) -> dict:
        table = self.HW_metrics["nasbench201"]
        if dataname not in table:
            raise ValueError(f"dataname {dataname!r} is not one of {sorted(table)} for nasbench201 in this file")
        return table[dataname]

    def _nb201_key(self, per: dict, arch_index, dataname: str):
        configs = per.get("config")
        if configs is None:
            raise ValueError(f"nasbench201/{dataname} of this file has no 'config' table")
        keyed_by_str = isinstance(configs, dict) and configs and isinstance(next(iter(configs)), str)
        if isinstance(arch_index, str):
            arch = nb201_mod.arch_string(nb201_mod.parse_arch(arch_index))
            if keyed_by_str:
                if arch not in configs:
                    raise KeyError(f"arch {arch!r} is not in nasbench201/{dataname}")
                return arch
            rev = self._by_str.get(dataname)
            if rev is None:
                items = configs.items() if isinstance(configs, dict) else enumerate(configs)
                rev = self._by_str[dataname] = {c["arch_str"]: i for i, c in items}
            if arch not in rev:
                raise KeyError(f"arch {arch!r} is not in nasbench201/{dataname}")
            return rev[arch]
        if keyed_by_str:
            raise ValueError("this file is keyed by arch string (an accelmodel build before NAS-Bench-201 indices "
                             "were generated); query with an arch string, or rebuild it")
        if not isinstance(arch_index, (int, np.integer)) or isinstance(arch_index, bool):
            raise ValueError(f"arch_index {arch_index!r} is not a NAS-Bench-201 index (an int) or an arch string")
        index = int(arch_index)
        if isinstance(configs, dict):
            if index not in configs:
                raise ValueError(f"arch_index {index} is not in nasbench201/{dataname} of this file (it holds "
                                 f"{len(configs)} networks, indices {min(configs)}..{max(configs)})")
        elif not 0 <= index < len(configs):
            raise ValueError(f"arch_index {index} is outside 0..{len(configs) - 1} (nasbench201/{dataname})")
        return index

    def query_by_index(self, arch_index, dataname: str) -> dict[str, float]:
        if self.search_space == "nasbench201":
            per = self._nb201(dataname)
            key = self._nb201_key(per, arch_index, dataname)
            results = {m: float(per[m][key]) for m in self._metrics(per, NB201_METRICS)}
        else:
            _check_fbnet_query(arch_index, dataname)
            fb = self.HW_metrics["fbnet"]
            results = {m: fbnet_metric(arch_index, dataname, fb[m]) for m in self._metrics(fb, FBNET_METRICS)}
        results["average_hw_metric"] = self._average(results)
        return results

    def get_net_config(self, arch_index, dataname: str) -> dict:
        if self.search_space == "nasbench201":
            per = self._nb201(dataname)
            return per["config"][self._nb201_key(per, arch_index, dataname)]
        _check_fbnet_query(arch_index, dataname)
        return {"dataset": dataname, "num_classes": 100 if dataname == "cifar100" else 1000,
                "op_idx_list": arch_index, "arch_str": [fbnet_mod.BLOCKS[v] for v in arch_index]}

    def get_op_lookup_tables(self) -> dict[str, dict[str, float]]:
        if self.search_space != "fbnet":
            raise ValueError("get_op_lookup_tables is for the 'fbnet' search space only")
        fb = self.HW_metrics["fbnet"]
        return {m: fb[m] for m in self._metrics(fb, FBNET_METRICS)}


def _check_fbnet_query(arch_index, dataname):
    if not isinstance(arch_index, list):
        raise ValueError(f"FBNet arch_index must be a list of 22 op indices, got {type(arch_index).__name__}")
    if len(arch_index) != fbnet_mod.NUM_POSITIONS:
        raise ValueError(f"FBNet arch_index must have 22 entries, got {len(arch_index)}")
    for pos, op in enumerate(arch_index):
        if not isinstance(op, (int, np.integer)) or isinstance(op, bool) or not 0 <= op < len(fbnet_mod.BLOCKS):
            raise ValueError(f"FBNet arch_index position {pos}: op {op!r} is not an index 0..{len(fbnet_mod.BLOCKS) - 1} "
                             f"({', '.join(f'{i}={n}' for i, n in enumerate(fbnet_mod.BLOCKS))})")
    if dataname not in FBNET_DATASETS:
        raise ValueError(f"dataname {dataname!r} is not one of {list(FBNET_DATASETS)} for fbnet")


def fbnet_block_keys(arch_index, dataname: str) -> list[str]:
    """The lookup-table keys of an FBNet network, stem to classifier (HW-NAS-Bench's summation order)."""
    macro = fbnet_mod.DATASETS[fbnet_mod.canonical_dataset(dataname)]
    hw = macro.resolution
    keys = [fbnet_mod.convnorm_key(hw, 3, fbnet_mod.STEM_CHANNELS, 3, macro.stem_stride)]
    hw //= macro.stem_stride
    c_in = fbnet_mod.STEM_CHANNELS
    for pos, op in enumerate(arch_index):
        stage, i = fbnet_mod.POSITION_STAGE[pos]
        c_out = fbnet_mod.STAGE_CHANNELS[stage]
        stride = macro.stage_strides[stage] if i == 0 else 1
        name = fbnet_mod.BLOCKS[op]
        if name == "skip":
            keys.append(fbnet_mod.skip_key(hw, c_in, c_out, stride))
        else:
            kernel, exp, groups = fbnet_mod.BLOCK_SHAPES[name]
            keys.append(fbnet_mod.convblock_key(hw, c_in, c_out, exp, kernel, stride, groups))
        hw //= stride
        c_in = c_out
    keys.append(fbnet_mod.convnorm_key(hw, c_in, macro.header_channels, 1, 1))
    keys.append(fbnet_mod.avgpool_key(hw, macro.header_channels))
    keys.append(fbnet_mod.fc_key(macro.header_channels, macro.classes))
    return keys


def fbnet_metric(arch_index, dataname: str, lookup_table: dict) -> float:
    """A network's metric as the sum of its blocks' lookup-table entries (HW-NAS-Bench's rule)."""
    metric = 0.0
    for key in fbnet_block_keys(arch_index, dataname):
        if key not in lookup_table:
            raise KeyError(f"lookup table has no entry {key!r}")
        metric += lookup_table[key]
    return metric
