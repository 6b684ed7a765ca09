"""accelmodel: analytical latency and energy of neural networks on DNN accelerators.

    >>> import accelmodel
    >>> net = accelmodel.workloads.get("alexnet")
    >>> est = accelmodel.estimate(net, arch="eyeriss")
    >>> est.latency_ms, est.energy_mj, est.layers.head()

`accelmodel.datasets`, `.search`, `.hwnasbench`, `.plots`, `.validation` and `.predictor` are imported on first use
(PEP 562), so ``import accelmodel`` stays as fast as before and ``accelmodel.datasets.build(...)`` just works.
"""

import importlib

from . import workloads
from .estimate import Estimate, EstimateError, estimate
from .specs import ArchSpec, SpecError, available_specs, load_spec

__version__ = "0.1.0"
__all__ = ["workloads", "estimate", "Estimate", "EstimateError", "load_spec", "available_specs", "ArchSpec", "SpecError"]

#: Submodules imported when first used as attributes of the package.
_LAZY_SUBMODULES = ("datasets", "search", "hwnasbench", "plots", "validation", "predictor")


def __getattr__(name: str):
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))
