"""accelmodel: analytical latency and energy of neural networks on DNN accelerators.

    >>> import accelmodel
    >>> net = accelmodel.workloads.get("alexnet")
    >>> est = accelmodel.estimate(net, arch="eyeriss")
    >>> est.latency_ms, est.energy_mj, est.layers.head()
"""

from . import workloads
from .estimate import Estimate, estimate
from .specs import ArchSpec, SpecError, available_specs, load_spec

__version__ = "0.1.0"
__all__ = ["workloads", "estimate", "Estimate", "load_spec", "available_specs", "ArchSpec", "SpecError"]
