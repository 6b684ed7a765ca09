"""`estimate()`: the thin public call. Picks the mapper from the spec's paradigm, runs it, and presents
the result as totals plus a per-layer DataFrame. It never branches on a paradigm itself."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pandas as pd

from .cost import LayerCost, NetworkCost
from .specs import ArchSpec, load_spec
from .workloads import LayerGraph, Layer
from .workloads import get as get_network
from .mappers import get_mapper, resolve_objective

#: (layer signature, config key, objective) -> LayerCost, shared by every call in this process.
_LAYER_CACHE: dict[tuple, LayerCost] = {}


class EstimateError(ValueError):
    """A mapper produced a cost that cannot be right (NaN, infinite, negative, or no time for a layer with
    MACs); `estimate` refuses to return it. A spec value at the edge of its range can cause it."""


@dataclass
class Estimate:
    network: str
    arch: str
    objective: str
    latency_ms: float
    energy_mj: float
    #: One row per layer: name, type, macs, latency_ms, energy_mj, energy_<level>_mj, accesses, mapping ...
    layers: pd.DataFrame
    throughput_gops: float | None = None
    resources: dict | None = None
    extra: dict = field(default_factory=dict)

    @property
    def power_mw(self) -> float:
        return self.energy_mj / self.latency_ms * 1e3 if self.latency_ms > 0 else 0.0

    @property
    def macs(self) -> int:
        return int(self.layers["macs"].sum())

    def __str__(self) -> str:
        lines = [
            f"{self.network} on {self.arch} (objective: {self.objective})",
            f"  latency {self.latency_ms:.4f} ms, energy {self.energy_mj:.4f} mJ, power {self.power_mw:.1f} mW, "
            f"{self.macs / 1e6:.2f} M MACs",
        ]
        if self.throughput_gops is not None:
            lines.append(f"  throughput {self.throughput_gops:.1f} GOP/s")
        return "\n".join(lines)


def configure(arch, overrides: dict | None = None):
    """(spec, mapper module, validated config) for `arch` (name, path, dict or ArchSpec)."""
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ValueError(f"budget must be a dict of field -> value (e.g. {{'dsp': 723}}) or None, got {overrides!r} "
                         f"({type(overrides).__name__})")
    spec = load_spec(arch)
    mapper = get_mapper(spec.paradigm)
    return spec, mapper, mapper.configure(spec, overrides)


def map_layers(layers: Iterable[Layer], mapper, config, objective: str) -> list[LayerCost]:
    """Per-layer costs under a layer-additive mapper, each unique shape searched once (cached)."""
    out = []
    for layer in layers:
        key = (layer.signature, config.key, objective)
        cost = _LAYER_CACHE.get(key)
        if cost is None:
            cost = mapper.map_layer(layer, config, objective)
            _LAYER_CACHE[key] = cost
        out.append(cost)
    return out


def layer_frame(layers: list[Layer], costs: list[LayerCost]) -> pd.DataFrame:
    rows = []
    for layer, c in zip(layers, costs):
        row: dict[str, Any] = {
            "name": layer.name, "type": layer.type, "macs": layer.macs,
            "latency_ms": c.latency_s * 1e3, "energy_mj": c.energy_total_j * 1e3,
            "cycles": c.cycles, "utilization": c.utilization,
            "dram_accesses": c.accesses.get("dram", 0.0), "mapping": c.mapping,
        }
        for level, joules in c.energy_j.items():
            row[f"energy_{level}_mj"] = joules * 1e3
        for level, count in c.accesses.items():
            row[f"accesses_{level}"] = count
        row.update(c.extra)
        rows.append(row)
    return pd.DataFrame(rows)


def _graph_of(network, batch, dataset) -> LayerGraph:
    """`network` as a LayerGraph; `batch` and `dataset` build a named network and must agree with a given graph
    (a LayerGraph carries its own: an argument that would be ignored is an error)."""
    if isinstance(network, LayerGraph):
        if batch is not None and batch != network.batch:
            raise ValueError(f"batch={batch!r} applies to network names; the LayerGraph {network.name!r} has batch "
                             f"{network.batch} (build it with the batch you want)")
        if dataset is not None and dataset != network.meta.get("dataset"):
            raise ValueError(f"dataset={dataset!r} applies to network names; the LayerGraph {network.name!r} was built "
                             f"for {network.meta.get('dataset')!r}")
        graph = network
    elif isinstance(network, str):
        graph = get_network(network, batch=1 if batch is None else batch, dataset=dataset)
    else:
        raise ValueError(f"network must be a LayerGraph or a name (resnet18, nb201:<arch_str>, fbnet:<22 ops>, an "
                         f".onnx path), got {network!r} ({type(network).__name__})")
    if not len(graph):
        raise ValueError(f"network {graph.name!r} has no layers; there is nothing to estimate")
    return graph


def check_costs(graph: LayerGraph, arch: str, frame: pd.DataFrame, latency_ms: float, energy_mj: float) -> None:
    """The boundary guard: every per-layer and total latency and energy finite and >= 0, and a layer (and a
    network) with MACs takes time unless its mapper gives a ``zero_latency_reason`` (a layer hidden behind a
    concurrently running one, or a benchmark convention the spec states, e.g. HW-NAS-Bench's FBNet FPGA table
    pricing only the separable blocks). A mapper result that breaks this is an EstimateError, never an answer."""
    where = f"{graph.name} on {arch}"
    for column in ("latency_ms", "energy_mj"):
        values = frame[column].to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0)
        if column == "latency_ms":
            free = (frame["zero_latency_reason"].fillna("").astype(str).str.len().to_numpy() > 0
                    if "zero_latency_reason" in frame.columns else np.zeros(len(frame), bool))
            bad |= (frame["macs"].to_numpy() > 0) & (values <= 0) & ~free
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise EstimateError(f"{where}: layer {frame['name'].iat[i]!r} ({int(frame['macs'].iat[i]):,} MACs) got "
                                f"{column}={float(values[i])!r}; a cost must be finite, >= 0 and > 0 for a layer with MACs "
                                "(a spec value at the edge of its range?)")
    # a network may take no time only where every layer with MACs says why (see above)
    timed_macs = graph.macs if "zero_latency_reason" not in frame.columns else int(
        frame.loc[frame["zero_latency_reason"].fillna("").astype(str).str.len() == 0, "macs"].sum())
    for name, value in (("latency_ms", latency_ms), ("energy_mj", energy_mj)):
        if not math.isfinite(value) or value < 0 or (name == "latency_ms" and timed_macs > 0 and value <= 0):
            raise EstimateError(f"{where}: total {name}={value!r}; a cost must be finite, >= 0 and > 0 for a "
                                "network with MACs (a spec value at the edge of its range?)")


def estimate(network: "LayerGraph | str", arch: "str | ArchSpec | dict" = "eyeriss", objective: str | None = None,
             budget: dict | None = None, dataset: str | None = None, batch: int | None = None) -> Estimate:
    """Latency and energy of `network` on `arch`.

    `network` is a LayerGraph or a name understood by `accelmodel.workloads.get` (``resnet18``,
    ``nb201:<arch_str>``, ``fbnet:<22 ints>``, an ONNX path). `arch` is a built-in spec name, a YAML path,
    a dict or an ArchSpec. `objective` is ``latency``, ``energy`` or ``edp`` (default: the spec's).
    `budget` overrides spec fields by dotted path (e.g. ``{"dsp": 723}`` where the paradigm supports it).
    `dataset` and `batch` (default 1) build a named network; a LayerGraph has its own (passing a different
    one is an error, not ignored). Every result is checked (`check_costs`): no NaN, infinite, negative or zero
    latency for a layer with MACs leaves this function.
    """
    graph = _graph_of(network, batch, dataset)
    if objective is not None and not isinstance(objective, str):
        raise ValueError(f"objective must be a string or None (the spec's default), got {objective!r}")
    spec, mapper, config = configure(load_spec(arch).for_space(graph.meta.get("space")), budget)
    objective = resolve_objective(mapper, config, objective)
    layers = graph.layers
    if hasattr(mapper, "map_network"):
        net: NetworkCost = mapper.map_network(graph, config, objective)
        frame = layer_frame(layers, net.layers)
        extra = dict(net.extra)
        latency_ms, energy_mj = net.latency_s * 1e3, net.energy_j * 1e3
        check_costs(graph, spec.name, frame, latency_ms, energy_mj)
        return Estimate(graph.name, spec.name, objective, latency_ms, energy_mj, frame,
                        throughput_gops=extra.pop("throughput_gops", None), resources=extra.pop("resources", None),
                        extra=extra)
    costs = map_layers(layers, mapper, config, objective)
    frame = layer_frame(layers, costs)
    # sum without skipping NaN (pandas' default would turn a NaN layer into a total of 0); checked below
    with np.errstate(over="ignore"):  # an overflow to inf is reported by check_costs
        latency_ms = float(frame["latency_ms"].sum(skipna=False))
        energy_mj = float(frame["energy_mj"].sum(skipna=False))
    check_costs(graph, spec.name, frame, latency_ms, energy_mj)
    return Estimate(graph.name, spec.name, objective, latency_ms, energy_mj, frame)
