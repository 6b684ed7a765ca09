"""`estimate()`: the thin public call. Picks the mapper from the spec's paradigm, runs it, and presents
the result as totals plus a per-layer DataFrame. It never branches on a paradigm itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import pandas as pd

from .cost import LayerCost, NetworkCost
from .specs import ArchSpec, load_spec
from .workloads import LayerGraph, Layer
from .workloads import get as get_network
from .mappers import get_mapper, resolve_objective

#: (layer signature, config key, objective) -> LayerCost, shared by every call in this process.
_LAYER_CACHE: dict[tuple, LayerCost] = {}


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


def estimate(network: "LayerGraph | str", arch: "str | ArchSpec | dict" = "eyeriss", objective: str | None = None,
             budget: dict | None = None, dataset: str | None = None, batch: int = 1) -> Estimate:
    """Latency and energy of `network` on `arch`.

    `network` is a LayerGraph or a name understood by `accelmodel.workloads.get` (``resnet18``,
    ``nb201:<arch_str>``, ``fbnet:<22 ints>``, an ONNX path). `arch` is a built-in spec name, a YAML path,
    a dict or an ArchSpec. `objective` is ``latency``, ``energy`` or ``edp`` (default: the spec's).
    `budget` overrides spec fields by dotted path (e.g. ``{"dsp": 723}`` where the paradigm supports it).
    """
    graph = network if isinstance(network, LayerGraph) else get_network(network, batch=batch, dataset=dataset)
    spec, mapper, config = configure(load_spec(arch).for_space(graph.meta.get("space")), budget)
    objective = resolve_objective(mapper, config, objective)
    if hasattr(mapper, "map_network"):
        net: NetworkCost = mapper.map_network(graph, config, objective)
        layers = graph.layers
        frame = layer_frame(layers, net.layers)
        extra = dict(net.extra)
        return Estimate(graph.name, spec.name, objective, net.latency_s * 1e3, net.energy_j * 1e3, frame,
                        throughput_gops=extra.pop("throughput_gops", None), resources=extra.pop("resources", None),
                        extra=extra)
    layers = graph.layers
    costs = map_layers(layers, mapper, config, objective)
    frame = layer_frame(layers, costs)
    return Estimate(graph.name, spec.name, objective, float(frame["latency_ms"].sum()),
                    float(frame["energy_mj"].sum()), frame)
