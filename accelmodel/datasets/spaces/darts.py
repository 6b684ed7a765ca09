"""DARTS as a builder space: EH-DNAS's data-set network as a template of 8 cells x 14 candidate-edge slots.

A DARTS network (`accelmodel.workloads.darts`, the EH-DNAS data-set macro: C = 16, 8 cells) is a template:
per cell, fixed preprocessing layers, then for each node the layers of its candidate edges and the node's add,
then the concat; stem and head fixed. Each of a cell's 14 candidate edges is a slot whose choice is "absent" or
one of the 8 ops, and every normal (reduction) cell takes the same 14 choices, so a network is 28 choices
(`workloads.darts.edge_choices` of its code). The layers of each (slot, choice) are read from a few real graphs
(every op on every edge, three genotypes per op), and the template is checked against each of them, so no
per-network graph is built; `tests/test_darts.py` checks sampled sequences against `workloads.darts` graphs too.

Networks are identified by their int64 code (`workloads.darts.encode`); the layer table keeps the codes, not
the choice matrix, and expands choices chunk by chunk (1,000,000 networks are 8 MB of codes).
"""

from __future__ import annotations

import functools
import importlib

import numpy as np

from ..tables import Rows, SlotSpace
from .base import SearchSpace, Selection, no_index_file

# By module path: the package binds the name `darts` to the builder function.
darts_mod = importlib.import_module("accelmodel.workloads.darts")

#: The data-set network: EH-DNAS's DARTS data sets use the search-size network (C = 16, 8 cells).
C = 16
LAYERS = 8


def codes(archs, sample, seed) -> np.ndarray:
    """int64 codes of the requested networks: `archs` (genotypes, codes, names or edge vectors; anything
    `workloads.darts.parse_genotype` takes, of the DARTS space proper) or `sample` uniform random genotypes
    (`workloads.darts.sample_codes`, scheme ``uniform``; pass ``archs=sample_codes(n, seed, "eh-dnas")`` for
    EH-DNAS's sampler)."""
    if archs is None and sample is None:
        raise ValueError("darts needs archs (genotypes or codes) or sample (how many random networks); its "
                         "~9e18 genotypes cannot all be built")
    if archs is not None and sample is not None:
        raise ValueError("darts: give archs or sample, not both")
    if archs is None:
        return darts_mod.sample_codes(sample, seed)
    if isinstance(archs, np.ndarray) and archs.dtype.kind in "iu":
        out = archs.astype(np.int64).ravel()
        if out.size and (out.min() < 0 or out.max() >= darts_mod.NUM_CODES):
            raise ValueError(f"archs: DARTS codes must be in 0..{darts_mod.NUM_CODES - 1}")
    else:
        if isinstance(archs, (str, int, darts_mod.Genotype)):
            archs = [archs]
        out = np.array([darts_mod.encode(a) for a in archs], dtype=np.int64)
    if not out.size:
        raise ValueError("archs is empty; give at least one DARTS genotype or code")
    return out


def _probe_genotypes(op: str) -> list:
    """Genotypes whose cells put `op` on every one of the 14 candidate edges between them (two per node)."""
    pairs = {0: [(0, 1)], 1: [(0, 1), (1, 2)], 2: [(0, 1), (2, 3)], 3: [(0, 1), (2, 3), (3, 4)]}
    out = []
    for r in range(3):
        cell = []
        for k in range(darts_mod.STEPS):
            a, b = pairs[k][min(r, len(pairs[k]) - 1)]
            cell += [(op, a), (op, b)]
        out.append(darts_mod.Genotype(cell, darts_mod.CONCAT, cell, darts_mod.CONCAT))
    return out


@functools.lru_cache(maxsize=8)
def _template(dataset: str, batch: int):
    """(layers, template, slot_var, slot_rows, probes) of the data-set network, read from real graphs."""
    n_edges = darts_mod.NUM_EDGES
    nchoice = 1 + len(darts_mod.PRIMITIVES)
    reduction = [i in (LAYERS // 3, 2 * LAYERS // 3) for i in range(LAYERS)]
    rows = Rows()
    slot_rows: list[list] = [[None] * nchoice for _ in range(LAYERS * n_edges)]
    for slot in slot_rows:
        slot[0] = ()                                          # absent edge: no layers
    template = None
    probes = []
    for o, op in enumerate(darts_mod.PRIMITIVES):
        for geno in _probe_genotypes(op):
            g = darts_mod.darts(geno, dataset, C, LAYERS, batch)
            entries, current = [], {}
            for layer in g.layers:
                role, cell = layer.tag("role"), layer.tag("cell")
                if role == "edge":
                    slot = int(cell) * n_edges + int(layer.tag("edge"))
                    current.setdefault(slot, []).append(rows.row(layer))
                    continue
                if role == "node":  # the node's candidate edges come before its sum
                    k = int(layer.tag("node"))
                    entries += [(1, int(cell) * n_edges + darts_mod.EDGE_INDEX[(k, j)]) for j in range(k + 2)]
                entries.append((0, rows.row(layer)))
            for slot, rs in current.items():
                known = slot_rows[slot][1 + o]
                if known is not None and known != tuple(rs):
                    raise AssertionError(f"DARTS slot {slot} ({op}) differs between probe graphs")
                slot_rows[slot][1 + o] = tuple(rs)
            if template is None:
                template = entries
            elif entries != template:
                raise AssertionError("DARTS template differs between probe graphs; the slot decomposition is invalid")
            probes.append((darts_mod.encode(geno), [rows.row(l) for l in g.layers]))
    if any(r is None for slot in slot_rows for r in slot):
        raise AssertionError("DARTS probe graphs left a (slot, op) without layers")
    slot_var = [(n_edges if reduction[s // n_edges] else 0) + s % n_edges for s in range(len(slot_rows))]
    return rows.layers, template, slot_var, slot_rows, probes


class _CodeChoices:
    """The choice matrix of int64 codes, expanded on demand: ``[start:stop]`` -> [n, 28] (`edge_choices`)."""

    def __init__(self, codes: np.ndarray):
        self.codes = codes

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, key):
        if isinstance(key, slice):
            return darts_mod.edge_choices(self.codes[key])
        return darts_mod.edge_choices(self.codes[key:key + 1])[0]


class DartsTable(SlotSpace):
    """DARTS networks (by int64 code) as a SlotSpace of 8 cells x 14 edge slots over 28 choice variables."""

    def __init__(self, codes: np.ndarray, dataset: str, batch: int = 1):
        layers, template, slot_var, slot_rows, probes = _template(dataset, batch)
        self.codes = np.ascontiguousarray(codes, dtype=np.int64)
        super().__init__(SPACE, dataset, batch, layers, template, slot_var, slot_rows,
                         np.zeros((0, 2 * darts_mod.NUM_EDGES), dtype=np.int64))
        self.choices = _CodeChoices(self.codes)
        for code, seq in probes:  # the template reproduces every graph it was read from
            if self.sequence(darts_mod.edge_choices(np.array([code]))[0]) != seq:
                raise AssertionError(f"DARTS template does not reproduce probe graph {code}")

    def graph(self, i: int):
        return self.space.graph(self.codes[i], self.dataset, self.batch)

    def graph_source(self, start: int, stop: int):
        return (self.space, self.dataset, self.batch, self.codes[start:stop])


class Darts(SearchSpace):
    name = "darts"
    datasets = tuple(darts_mod.DATASETS)
    default_dataset = "cifar10"
    arch_column = "code"

    canonical_dataset = staticmethod(darts_mod.canonical_dataset)
    alias_hint = " ('imagenet' is accepted too)"

    def select(self, archs, sample, seed, index_file, dataset) -> Selection:
        no_index_file(self, index_file)
        selected = codes(archs, sample, seed)
        return Selection(selected, {"code": selected.tolist()})

    def layer_table(self, choices, dataset, batch):
        return DartsTable(choices, dataset, batch)

    def choice_matrix(self, choices) -> np.ndarray:
        return darts_mod.edge_choices(np.asarray(choices, dtype=np.int64))

    def graph(self, choice, dataset, batch):
        return darts_mod.darts(int(choice), dataset, C, LAYERS, batch)


SPACE = Darts()
