"""FBNet as a builder space: the 22-position template and HW-NAS-Bench's per-block lookup tables."""

from __future__ import annotations

import importlib

import numpy as np

from ..sampling import uniform_choices
from ..tables import Rows, SlotSpace
from .base import SearchSpace, Selection, no_index_file

# By module path: the package binds the name `fbnet` to the builder function.
fbnet_mod = importlib.import_module("accelmodel.workloads.fbnet")


def choices(archs, sample, seed) -> np.ndarray:
    """Choice matrix of explicit op lists (`archs`, in order) or of `sample` uniformly random networks."""
    if archs is None and sample is None:
        raise ValueError("fbnet needs archs (op index lists) or sample (how many random networks); its "
                         f"{len(fbnet_mod.BLOCKS)}^{fbnet_mod.NUM_POSITIONS} networks cannot all be built")
    if archs is not None and sample is not None:
        raise ValueError("fbnet: give archs or sample, not both")
    if archs is not None:
        if isinstance(archs, str):
            archs = [archs]
        archs = list(archs)
        if not archs:
            raise ValueError("archs is empty; give at least one FBNet op list")
        return np.array([fbnet_mod.op_indices(a) for a in archs], dtype=np.int64).reshape(-1, fbnet_mod.NUM_POSITIONS)
    return uniform_choices(sample, fbnet_mod.NUM_POSITIONS, len(fbnet_mod.BLOCKS), seed)


def every_block() -> list[list[int]]:
    """One network per block type (all 22 positions the same block): together they hold every lookup-table
    key of a data set, since a key depends only on the position's shape and the block."""
    return [[b] * fbnet_mod.NUM_POSITIONS for b in range(len(fbnet_mod.BLOCKS))]


def layer_table(choices: np.ndarray, dataset: str, batch: int = 1) -> SlotSpace:
    """FBNet as a template: 22 slots (the positions), one variable each, 9 choices (the blocks)."""
    n_pos, n_blocks = fbnet_mod.NUM_POSITIONS, len(fbnet_mod.BLOCKS)
    rows = Rows()
    slot_rows = [[None] * n_blocks for _ in range(n_pos)]
    slot_keys = [[None] * n_blocks for _ in range(n_pos)]
    template = fixed_sig = None
    fixed_keys: dict[int, str] = {}
    for b in range(n_blocks):
        g = fbnet_mod.fbnet([b] * n_pos, dataset=dataset, batch=batch)
        entries, sigs, current = [], [], {}
        for layer in g.layers:
            pos = layer.tag("position")
            if pos is not None and pos.isdigit():
                p = int(pos)
                if p not in current:
                    current[p] = []
                    entries.append((1, p))
                current[p].append(rows.row(layer))
                slot_keys[p][b] = layer.tag("block")
            else:
                r = rows.row(layer)
                fixed_keys[r] = layer.tag("block")
                entries.append((0, r))
                sigs.append(layer.signature)
        for p, rs in current.items():
            slot_rows[p][b] = tuple(rs)
        if template is None:
            template, fixed_sig = entries, sigs
        elif entries != template or sigs != fixed_sig:
            raise AssertionError("FBNet template differs between blocks; the slot decomposition is invalid")
    return SlotSpace(SPACE, dataset, batch, rows.layers, template, list(range(n_pos)), slot_rows, choices,
                     slot_keys=slot_keys, fixed_keys=fixed_keys)


def block_units(table: SlotSpace) -> dict[str, list[int]]:
    """HW-NAS-Bench lookup-table key -> the table rows of that block (stem, each position's block, header,
    pooling, classifier)."""
    units: dict[str, list[int]] = {}
    for r, key in table.fixed_keys.items():
        units.setdefault(key, [r])
    for p, per_choice in enumerate(table.slot_rows):
        for b, rows in enumerate(per_choice):
            key = table.slot_keys[p][b]
            if key in units and units[key] != list(rows):
                raise AssertionError(f"FBNet block key {key} maps to different layers at two positions")
            units[key] = list(rows)
    return units


def lookup_table(table: SlotSpace, spec, budget, objective, row_costs=None) -> dict[str, dict[str, float]]:
    """HW-NAS-Bench's per-block lookup tables ({"latency": {key: ms}, "energy": {key: mJ}}) for one FBNet
    data set. Additive mappers: each block's layer costs summed (so the tables reproduce the built networks
    exactly). Non-additive mappers: each block evaluated alone through the batch interface, which is how
    HW-NAS-Bench measured its per-block FPGA tables; a whole network is then not necessarily the sum of its
    blocks.
    """
    from ..tasks import configured

    units = block_units(table)
    keys = list(units)
    if row_costs is not None:
        return {metric: {k: float(row_costs[col][units[k]].sum()) for k in keys}
                for metric, col in (("latency", "latency_ms"), ("energy", "energy_mj"))}
    mapper, config = configured(spec, budget)
    if not hasattr(mapper, "evaluate_sequences"):
        raise NotImplementedError(
            f"arch {spec.name!r}: per-block lookup tables of a non-additive mapper need its batch interface "
            "(encode_layers / evaluate_sequences)")
    encoded = np.asarray(mapper.encode_layers(table.layers), dtype=np.float64)
    width = max(len(units[k]) for k in keys)
    seq = np.full((len(keys), width), -1, dtype=np.int64)
    for i, k in enumerate(keys):
        seq[i, :len(units[k])] = units[k]
    lengths = np.array([len(units[k]) for k in keys], dtype=np.int64)
    res = mapper.evaluate_sequences(encoded, seq, lengths, config, objective)
    return {"latency": dict(zip(keys, map(float, res["latency_ms"]))),
            "energy": dict(zip(keys, map(float, res["energy_mj"])))}


class FBNet(SearchSpace):
    name = "fbnet"
    datasets = tuple(fbnet_mod.DATASETS)
    default_dataset = "cifar100"
    arch_column = "op_idx_list"

    canonical_dataset = staticmethod(fbnet_mod.canonical_dataset)
    alias_hint = " (HW-NAS-Bench's 'ImageNet' is accepted too)"

    def select(self, archs, sample, seed, index_file, dataset) -> Selection:
        no_index_file(self, index_file)
        matrix = choices(archs, sample, seed)
        return Selection(matrix, {"op_idx_list": [list(map(int, ch)) for ch in matrix]})

    def layer_table(self, choices, dataset, batch):
        return layer_table(choices, dataset, batch)

    def graph(self, choice, dataset, batch):
        return fbnet_mod.fbnet([int(i) for i in choice], dataset=dataset, batch=batch)


SPACE = FBNet()
