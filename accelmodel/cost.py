"""Cost records: what a mapper returns and what the API layer assembles.

Units are SI inside the records (seconds, joules); the API layer converts to ms and mJ for people.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LayerCost:
    """The cost of one layer under its chosen mapping. Independent of the layer's name, so it can be cached
    by shape signature and shared between layers of one shape."""

    macs: int
    cycles: float
    latency_s: float
    #: Energy per level in joules; keys are the spec's level names (e.g. "mac", "rf", "noc", "glb", "dram").
    energy_j: dict[str, float]
    #: Accesses (words) per level, same keys as the spec's levels where counted.
    accesses: dict[str, float]
    #: Fraction of the peak MAC rate achieved over the layer's latency (0..1).
    utilization: float
    #: Human-readable mapping, e.g. "RS e=7 r=3 t=2 ... | K/64 C/4 | GLB: ifmap 12 KB".
    mapping: str
    #: Paradigm-specific extras (bottleneck, spill, loop order, ...); flat values only.
    extra: dict = field(default_factory=dict)

    @property
    def energy_total_j(self) -> float:
        return float(sum(self.energy_j.values()))


@dataclass
class NetworkCost:
    """The cost of a whole network, for paradigms whose cost is not a sum of layers (e.g. pipelines)."""

    layers: list[LayerCost]
    latency_s: float
    energy_j: float
    #: Network-level extras: throughput_gops, frames_per_s, resources, chunks, notes ...
    extra: dict = field(default_factory=dict)
