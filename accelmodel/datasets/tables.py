"""Layer tables: a space's networks as unique layers plus, per network, the row indices of its layers.

NAS-Bench-201 and FBNet are not built as 15,625 / 100,000 networkx graphs: a network there is a template (fixed
stem / reduction / head layers) whose slots (a cell edge, an FBNet position) take one of a few choices, and the
layers of each (slot, choice) are read once from a handful of real graphs (`SlotSpace`, filled by each space's
module in `accelmodel.datasets.spaces`). Any other list of graphs is a `GraphSpace`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from ..workloads import Layer, LayerGraph


@dataclass
class LayerTable:
    """Unique layers plus, per network, the row indices of its layers in topological order.

    `sequences(start, stop)` yields the (padded, -1) row-index matrix and lengths of networks
    ``start..stop-1``; it is computed on demand so 100,000 FBNet networks never sit in memory as graphs.
    """

    layers: list[Layer]

    def __len__(self) -> int:  # number of networks
        raise NotImplementedError

    def sequences(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def graph(self, i: int) -> LayerGraph:
        """Network i as a real LayerGraph (for mappers without a batch interface)."""
        raise NotImplementedError

    def graph_source(self, start: int, stop: int):
        """What a worker needs to build the graphs of networks ``start..stop-1`` (see `tasks.graphs_task`)."""
        raise NotImplementedError


def compact(padded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move the valid (>= 0) entries of each row to its front, keeping their order; (matrix, lengths)."""
    valid = padded >= 0
    order = np.argsort(~valid, axis=1, kind="stable")
    seq = np.take_along_axis(padded, order, axis=1)
    lengths = valid.sum(axis=1).astype(np.int64)
    width = int(lengths.max()) if len(lengths) else 0
    return np.ascontiguousarray(seq[:, :width]), lengths


class Rows:
    """Signature -> row index over a growing list of unique layers."""

    def __init__(self):
        self.layers: list[Layer] = []
        self.index: dict[tuple, int] = {}

    def row(self, layer: Layer) -> int:
        r = self.index.get(layer.signature)
        if r is None:
            r = self.index[layer.signature] = len(self.layers)
            self.layers.append(layer)
        return r


class SlotSpace(LayerTable):
    """A space whose networks are one template with variable slots.

    `template` lists, in topological order, either a fixed row (``(0, row)``) or a slot (``(1, slot)``);
    slot s takes the choice of variable ``slot_var[s]`` and then contributes rows ``slot_rows[s][choice]``.
    `choices` is the (networks x variables) choice matrix; `space` is the `SearchSpace` that builds a network's
    graph from its choice row.
    """

    def __init__(self, space, dataset, batch, layers, template, slot_var, slot_rows, choices,
                 slot_keys=None, fixed_keys=None):
        self.space, self.dataset, self.batch = space, dataset, batch
        self.layers = layers
        self.template = template
        self.slot_var = np.asarray(slot_var, dtype=np.int64)
        self.slot_rows = slot_rows
        self.choices = np.asarray(choices, dtype=np.int64)
        #: Optional lookup-table key of each (slot, choice) and of each fixed row (FBNet).
        self.slot_keys = slot_keys
        self.fixed_keys = fixed_keys
        self._tables = []
        for kind, value in template:
            if kind == 0:
                self._tables.append(None)
            else:
                rows = slot_rows[value]
                width = max(len(r) for r in rows)
                table = np.full((len(rows), width), -1, dtype=np.int64)
                for c, r in enumerate(rows):
                    table[c, :len(r)] = r
                self._tables.append(table)

    def __len__(self) -> int:
        return len(self.choices)

    def sequences(self, start: int, stop: int):
        ch = self.choices[start:stop]
        parts = []
        for (kind, value), table in zip(self.template, self._tables):
            if kind == 0:
                parts.append(np.full((len(ch), 1), value, dtype=np.int64))
            else:
                parts.append(table[ch[:, self.slot_var[value]]])
        return compact(np.hstack(parts))

    def sequence(self, choice: Sequence[int]) -> list[int]:
        out = []
        for kind, value in self.template:
            out.extend([value] if kind == 0 else self.slot_rows[value][choice[self.slot_var[value]]])
        return out

    def graph(self, i: int) -> LayerGraph:
        return self.space.graph(self.choices[i], self.dataset, self.batch)

    def graph_source(self, start: int, stop: int):
        return (self.space, self.dataset, self.batch, self.choices[start:stop])


class GraphSpace(LayerTable):
    """Any iterable of LayerGraphs."""

    def __init__(self, graphs: Iterable[LayerGraph]):
        rows = Rows()
        self.graphs = list(graphs)
        if not self.graphs:
            raise ValueError("space: the iterable of LayerGraphs is empty")
        seqs = []
        for g in self.graphs:
            if not isinstance(g, LayerGraph):
                raise ValueError(f"space: expected LayerGraph items, got {type(g).__name__}")
            seqs.append([rows.row(l) for l in g.layers])
        self.layers = rows.layers
        width = max(len(s) for s in seqs)
        self._seq = np.full((len(seqs), width), -1, dtype=np.int64)
        for i, s in enumerate(seqs):
            self._seq[i, :len(s)] = s
        self._len = np.array([len(s) for s in seqs], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.graphs)

    def sequences(self, start: int, stop: int):
        return self._seq[start:stop], self._len[start:stop]

    def graph(self, i: int) -> LayerGraph:
        return self.graphs[i]

    def graph_source(self, start: int, stop: int):
        return self.graphs[start:stop]
