"""The units of work of a build, as module-level functions so that any runner (this process, local worker
processes, dask) can run them: map unique layers, evaluate network sequences, map whole graphs."""

from __future__ import annotations

import json

import numpy as np

from ..specs import ArchSpec
from ..workloads import Layer

_CONFIGS: dict[tuple, tuple] = {}
#: (spec digest, budget, objective, layer signature) -> per-layer costs, filled from every worker's results so
#: that a second build in this process needs no mapping at all.
ROW_CACHE: dict[tuple, dict[str, float]] = {}


def configured(spec: ArchSpec, budget):
    """(mapper module, config) of `spec` with `budget` applied, cached per process."""
    key = (spec.name, spec.digest, json.dumps(budget or {}, sort_keys=True, default=str))
    if key not in _CONFIGS:
        from ..estimate import configure

        _, mapper, config = configure(spec, budget)
        _CONFIGS[key] = (mapper, config)
    return _CONFIGS[key]


def map_rows_task(spec: ArchSpec, budget, objective: str, layers: list[Layer]) -> list[dict[str, float]]:
    """Stage 1: per unique layer under an additive mapper, latency_ms, energy_mj, energy_<level>_mj and
    accesses_dram (what every LayerCost reports and what adds up over a network)."""
    from ..estimate import map_layers

    mapper, config = configured(spec, budget)
    out = []
    for c in map_layers(layers, mapper, config, objective):
        row = {"latency_ms": c.latency_s * 1e3, "energy_mj": c.energy_total_j * 1e3,
               "accesses_dram": float(c.accesses.get("dram", 0.0))}
        row.update({f"energy_{level}_mj": joules * 1e3 for level, joules in c.energy_j.items()})
        out.append(row)
    return out


def sequences_task(spec: ArchSpec, budget, objective: str, encoded: np.ndarray, seq: np.ndarray,
                   lengths: np.ndarray) -> dict[str, np.ndarray]:
    """Stage 2 for a non-additive mapper with a batch interface."""
    mapper, config = configured(spec, budget)
    out = mapper.evaluate_sequences(encoded, seq, lengths, config, objective)
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def graphs_task(spec: ArchSpec, budget, objective: str, source) -> dict[str, np.ndarray]:
    """Stage 2 for a non-additive mapper without a batch interface: `map_network` per graph. `source` is a
    list of LayerGraphs or ``(search space, dataset, batch, choices)``, built here so that no process holds the
    graphs of every chunk at once."""
    mapper, config = configured(spec, budget)
    if isinstance(source, tuple):
        space, dataset, batch, choices = source
        graphs = [space.graph(ch, dataset, batch) for ch in choices]
    else:
        graphs = source
    cols: dict[str, list] = {"latency_ms": [], "energy_mj": []}
    for g in graphs:
        net = mapper.map_network(g, config, objective)
        cols["latency_ms"].append(net.latency_s * 1e3)
        cols["energy_mj"].append(net.energy_j * 1e3)
        for k, v in net.extra.items():
            if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
                cols.setdefault(k, []).append(float(v))
    return {k: np.asarray(v, dtype=np.float64) for k, v in cols.items() if len(v) == len(graphs)}
