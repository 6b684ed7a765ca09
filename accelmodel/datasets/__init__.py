"""Whole-search-space tables: latency and energy of every network of a NAS space on one accelerator.

    >>> from accelmodel.datasets import build, build_hwnasbench
    >>> frame = build("nasbench201", "eyeriss-hwnasbench", "cifar10")     # all 15,625, NAS-Bench-201 index order
    >>> build_hwnasbench(out="HW-NAS-Bench-v1_0.pickle")                   # the HW-NAS-Bench drop-in file

One module per concern: `spaces` (one module per search space and a small registry), `tables` (a space's
networks as unique layers plus row sequences), `sampling` (seeded draws), `tasks` (the units of work),
`runners` and `worker` (where tasks run), `storage` (atomic files, output checks, the output lock),
`checkpoints` (resumable builds), `builds` (`build`, `build_many`) and `drop_in` (`build_hwnasbench`).
"""

from . import spaces
from .builds import LAYER_CHUNK, NETWORK_CHUNK, build, build_many, check_dataset
from .checkpoints import Checkpoint
from .drop_in import build_hwnasbench
from .runners import AUTO_POOL_SECONDS, SCHEDULERS, LocalPool, Runner, WorkerError
from .sampling import check_sample, check_seed, sample_rows, uniform_choices
from .spaces import SPACES, SearchSpace, Selection, get_space, register_space
from .spaces.fbnet import choices as fbnet_choices
from .spaces.fbnet import layer_table as fbnet_space
from .spaces.fbnet import lookup_table as fbnet_lookup_table
from .spaces.nasbench201 import choices as nasbench201_choices
from .spaces.nasbench201 import index_order as nasbench201_index_order
from .spaces.nasbench201 import layer_table as nasbench201_space
from .spaces.nasbench201 import strings_of as nasbench201_strings
from .storage import (OUTPUT_SUFFIXES, OutputExistsError, OutputInUseError, atomic_write, atomic_write_bytes,
                      check_writable)
from .tables import GraphSpace, LayerTable, SlotSpace
from .tasks import graphs_task, map_rows_task, sequences_task

__all__ = [
    "build", "build_many", "build_hwnasbench", "check_dataset", "check_writable", "atomic_write",
    "atomic_write_bytes", "nasbench201_space", "nasbench201_choices", "nasbench201_strings",
    "nasbench201_index_order", "fbnet_space", "fbnet_choices", "fbnet_lookup_table", "LayerTable", "SlotSpace",
    "GraphSpace", "SPACES", "SearchSpace", "Selection", "get_space", "register_space", "Runner", "LocalPool",
    "WorkerError", "Checkpoint", "OutputExistsError", "OutputInUseError", "map_rows_task", "sequences_task",
    "graphs_task", "check_seed", "check_sample", "sample_rows", "uniform_choices", "OUTPUT_SUFFIXES",
    "SCHEDULERS", "AUTO_POOL_SECONDS", "LAYER_CHUNK", "NETWORK_CHUNK", "spaces",
]
