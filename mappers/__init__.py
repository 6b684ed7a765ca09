"""Mapping-space explorers, one module per paradigm.

Each module knows its own paradigm and nothing of the others. The contract with the API layer:

- ``PARADIGM``: the name a spec gives in its ``paradigm:`` field.
- ``configure(spec, overrides=None) -> config``: checks the spec's paradigm fields (errors name the field)
  and returns a typed config with a hashable ``key`` and a ``default_objective``.
- ``map_layer(layer, config, objective) -> LayerCost`` for paradigms whose network cost is the sum of
  their layers' costs; the API layer caches results by (layer signature, config key, objective).
- or ``map_network(graph, config, objective) -> NetworkCost`` for paradigms that are not layer-additive
  (the chunk-pipelined FPGA).
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: paradigm name -> module path. Modules are imported on first use so Numba compiles only what is used.
PARADIGMS = {
    "eyeriss_rs": "accelmodel.mappers.eyeriss_rs",
    "fpga_pipeline": "accelmodel.mappers.fpga_pipeline",
    "generic": "accelmodel.mappers.generic",
}

#: Objectives every mapper supports; a mapper may add its own (its module's ``OBJECTIVES``).
OBJECTIVES = ("latency", "energy", "edp")


def get_mapper(paradigm: str) -> ModuleType:
    if paradigm not in PARADIGMS:
        raise ValueError(f"paradigm {paradigm!r} is not one of {sorted(PARADIGMS)}")
    return importlib.import_module(PARADIGMS[paradigm])


def check_objective(objective: str, allowed: tuple = OBJECTIVES) -> str:
    """`objective` if it is one of `allowed` (a mapper module's ``OBJECTIVES``), else a ValueError."""
    if objective not in allowed:
        raise ValueError(f"objective {objective!r} is not one of {list(allowed)}")
    return objective


def resolve_objective(mapper: ModuleType, config, requested: str | None = None) -> str:
    """`requested`, else (None only: '' or 0 is an error, not the default) the config's default; checked against
    what `mapper` supports."""
    return check_objective(config.default_objective if requested is None else requested,
                           getattr(mapper, "OBJECTIVES", OBJECTIVES))
