"""HW-NAS-Bench drop-in: the v1_0 pickle layout, its reader and an API that answers like the original.

Layout of ``HW-NAS-Bench-v1_0.pickle`` (from the HW-NAS-Bench API code):

- ``data["nasbench201"][dataset][metric][arch_index]`` for metrics such as ``eyeriss_latency`` (ms),
  ``eyeriss_energy`` (mJ), ``fpga_latency``, ``fpga_energy``; ``data["nasbench201"][dataset]["config"]
  [arch_index]`` is NAS-Bench-201's network config ``{'name': 'infer.tiny', 'C': 16, 'N': 5, 'arch_str':
  ..., 'num_classes': ...}``; datasets ``cifar10``, ``cifar100``, ``ImageNet16-120``.
- ``data["fbnet"][metric]`` is one lookup table per metric, block key -> value, over both data sets
  (``cifar100`` and ``ImageNet``): ``ConvNorm_H.._W.._Cin.._Cout.._kernel.._stride.._group..`` (stem and
  header), ``ConvBlock_H.._W.._Cin.._Cout.._exp.._kernel.._stride.._group..``, ``Skip_H.._W.._Cin.._Cout..
  _stride..``, ``AvgP_H.._W.._Cin.._Cout.._kernel.._stride..`` and ``FC_Cin.._Cout..``, H/W being the
  block's input size. A network's metric is the sum over its blocks.

accelmodel writes the same layout. The metric prefix is the HW-NAS-Bench device name for the two specs that
model its devices (``eyeriss-hwnasbench`` -> ``eyeriss``, ``fpga-zc706`` -> ``fpga``) and the spec name
(``-`` -> ``_``) for any other. NAS-Bench-201 entries are arrays in NAS-Bench-201 index order when the
build had an index file covering indices 0..n-1, dicts keyed by index for a partial index, and dicts keyed
by arch string without an index file. Extra keys (``accelmodel_networks`` under ``fbnet``: the built
networks' own totals) are ignored by the original API.
"""

from __future__ import annotations

import importlib
import math
import os
import pickle
from typing import Any

import numpy as np

# By module path: the package binds the names `fbnet` / `nasbench201` to the builder functions.
fbnet_mod = importlib.import_module("accelmodel.workloads.fbnet")
nb201_mod = importlib.import_module("accelmodel.workloads.nasbench201")

#: Spec name -> HW-NAS-Bench device name.
DEVICES = {"eyeriss-hwnasbench": "eyeriss", "fpga-zc706": "fpga"}
NB201_DATASETS = tuple(nb201_mod.DATASETS)
FBNET_DATASETS = ("cifar100", "ImageNet")
#: The original API's metric lists (what it returns for its own file).
NB201_METRICS = ("edgegpu_latency", "edgegpu_energy", "raspi4_latency", "edgetpu_latency", "pixel3_latency",
                 "eyeriss_latency", "eyeriss_energy", "eyeriss_arithmetic_intensity", "fpga_latency",
                 "fpga_energy")
FBNET_METRICS = ("edgegpu_latency", "edgegpu_energy", "raspi4_latency", "pixel3_latency", "eyeriss_latency",
                 "eyeriss_energy", "fpga_latency", "fpga_energy")
EXTRA_KEYS = ("accelmodel_networks",)


def device_name(arch: str) -> str:
    return DEVICES.get(arch, arch.replace("-", "_"))


def _fbnet_dataname(dataset: str) -> str:
    return "ImageNet" if fbnet_mod.canonical_dataset(dataset) == "imagenet" else "cifar100"


def nb201_config(arch_str: str, dataset: str) -> dict:
    """NAS-Bench-201's config dict for `arch_str` on `dataset` (what `get_net_config` returns)."""
    return {"name": "infer.tiny", "C": nb201_mod.STEM_CHANNELS, "N": nb201_mod.CELLS_PER_STAGE,
            "arch_str": arch_str, "num_classes": nb201_mod.DATASETS[dataset][1]}


# ---- writing ---------------------------------------------------------------------------------------

def to_hwnasbench(builds, data: dict | None = None) -> dict:
    """Merge builds into a HW-NAS-Bench-layout dict.

    `builds` is a list of ``(space, dataset, arch, frame, lookup)``: `frame` from `accelmodel.datasets.build`;
    `lookup` (FBNet) is ``{"latency": {key: ms}, "energy": {key: mJ}}`` from `datasets.fbnet_lookup_table`.
    """
    data = {} if data is None else data
    for space, dataset, arch, frame, lookup in builds:
        dev = device_name(arch)
        if space == "nasbench201":
            per = data.setdefault("nasbench201", {}).setdefault(dataset, {})
            if "index" in frame:
                idx = [int(i) for i in frame["index"]]
                dense = idx == list(range(len(idx)))
                keys: list = idx
            else:
                keys, dense = list(frame["arch_str"]), False
            configs = [nb201_config(s, dataset) for s in frame["arch_str"]]
            if "config" in per and _keys_of(per["config"]) != keys:
                raise ValueError(f"nasbench201/{dataset}: builds cover different networks; build them together")
            per["config"] = configs if dense else dict(zip(keys, configs))
            for col, metric in (("latency_ms", "latency"), ("energy_mj", "energy")):
                values = frame[col].to_numpy(dtype=np.float64)
                per[f"{dev}_{metric}"] = values.copy() if dense else dict(zip(keys, map(float, values)))
        elif space == "fbnet":
            fb = data.setdefault("fbnet", {})
            if lookup is not None:
                for metric in ("latency", "energy"):
                    table = fb.setdefault(f"{dev}_{metric}", {})
                    table.update(lookup[metric])
            nets = fb.setdefault("accelmodel_networks", {}).setdefault(_fbnet_dataname(dataset), {})
            nets["op_idx_list"] = [list(map(int, x)) for x in frame["op_idx_list"]]
            for col in frame.columns:
                if col not in ("op_idx_list",):
                    nets[f"{dev}_{col}"] = frame[col].to_numpy()
        else:
            raise ValueError(f"space {space!r}: the HW-NAS-Bench layout has only 'nasbench201' and 'fbnet'")
    return data


def _keys_of(container) -> list:
    return list(container) if isinstance(container, dict) else list(range(len(container)))


# ---- reading ---------------------------------------------------------------------------------------

def load(path_or_dict) -> dict:
    if isinstance(path_or_dict, dict):
        return path_or_dict
    path = os.fspath(path_or_dict)
    if not os.path.exists(path):
        raise FileNotFoundError(f"HW-NAS-Bench file {path!r} does not exist")
    with open(path, "rb") as fh:
        data = pickle.load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{path!r}: expected a dict at the top level (HW-NAS-Bench layout), got {type(data).__name__}")
    return data


def read_index(path, dataset: str | None = None) -> dict[int, str]:
    """NAS-Bench-201 index -> arch string from a CSV (``index,arch_str``) or a HW-NAS-Bench pickle; see
    `accelmodel.workloads.read_index_file`, the one reader of both layouts."""
    return nb201_mod.read_index_file(path, dataset)


class HWNASBenchAPI:
    """The HW-NAS-Bench API over a HW-NAS-Bench-layout pickle (the original file or one accelmodel wrote).

    Same calls as the original: `query_by_index(arch_index, dataname)` returns a dict metric -> float plus
    ``average_hw_metric`` (the product of the latency and energy metrics); `get_net_config(arch_index,
    dataname)`; `get_op_lookup_tables()` (FBNet). On the original file it returns exactly the original's
    metrics; on an accelmodel file, the metrics the file holds. NAS-Bench-201 `arch_index` is an index, or
    an arch string when the file is keyed by arch string (no index file at build time); FBNet `arch_index`
    is the list of 22 op indices. Unlike the original, bad names raise ValueError naming what is allowed.
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
        names = [k for k in container if k != "config" and k not in EXTRA_KEYS]
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
            raise ValueError("this file is keyed by arch string (it was built without an index file); "
                             "query with an arch string, or rebuild with index_file for NAS-Bench-201 indices")
        return int(arch_index)

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
        if dataname not in FBNET_DATASETS:
            raise ValueError(f"dataname {dataname!r} is not one of {list(FBNET_DATASETS)} for fbnet")
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
