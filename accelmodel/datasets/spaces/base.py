"""What a search space gives the dataset builder (the extension point: one module per space, see `__init__`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
import numpy as np

from ...workloads import LayerGraph
from ..tables import SlotSpace


@dataclass
class Selection:
    """The networks of one build, in row order: their choice matrix (networks x variables) and the columns
    that identify them in the output (e.g. ``index`` and ``arch_str``; ``op_idx_list``)."""

    choices: np.ndarray
    columns: dict[str, list]


class SearchSpace(ABC):
    """A NAS search space as the builder sees it: networks are rows of choices over a template.

    A subclass sets `name`, `datasets` (the accepted names, for errors) and `default_dataset`, and implements
    the three abstract methods. The builder never branches on a space's name; anything space-specific lives
    here. Instances hold no state (caches live at module level), so they pickle cheaply to worker processes.
    """

    name: str
    datasets: tuple[str, ...]
    default_dataset: str
    #: The column of a build that identifies its networks in a form `select(archs=...)` reads back.
    arch_column: str

    @property
    def workload_space(self) -> str:
        """The workload space (``LayerGraph.meta["space"]`` of its graphs) whose spec conventions apply
        (`ArchSpec.for_space`); a space built from another space's graphs names that one."""
        return self.name

    #: The workload module's dataset canonicaliser (a staticmethod that accepts its aliases and raises ValueError
    #: otherwise), or None: exactly the names in `datasets`; `alias_hint` says which aliases in the error.
    canonical_dataset = None
    alias_hint = ""

    def check_dataset(self, dataset) -> str:
        """The canonical spelling of `dataset` (None: the default), else a ValueError listing `datasets`."""
        if dataset is None:
            return self.default_dataset
        if self.canonical_dataset is not None:
            try:
                return self.canonical_dataset(dataset)
            except ValueError:
                pass
        elif dataset in self.datasets:
            return dataset
        raise ValueError(f"dataset {dataset!r} is not one of {list(self.datasets)} for {self.name}{self.alias_hint}")

    @abstractmethod
    def select(self, archs, sample: int | None, seed: int, index_file, dataset: str) -> Selection:
        """The requested networks: `archs` (the space's own spellings, in the given order), a seeded `sample`,
        or the space's default set; `index_file` where the space has a user-numbered index."""

    @abstractmethod
    def layer_table(self, choices: np.ndarray, dataset: str, batch: int) -> SlotSpace:
        """The networks of `choices` as a layer table (unique layers once, per network its row sequence)."""

    @abstractmethod
    def graph(self, choice, dataset: str, batch: int) -> LayerGraph:
        """The network of one choice row as a LayerGraph (what `accelmodel.workloads` builds)."""

    def choice_matrix(self, choices) -> np.ndarray:
        """`Selection.choices` as the (networks x variables) int64 matrix of the layer table's variables (a
        space that keeps its networks in another form, e.g. DARTS' codes, expands them here)."""
        return np.asarray(choices, dtype=np.int64)


def no_index_file(space: SearchSpace, index_file) -> None:
    if index_file is not None:
        raise ValueError(f"index_file applies to nasbench201 only, not to {space.name}")
