"""Analytical per-slot costs: each (slot, choice) of a space's template costed alone on the spec's mapper.

These are the predictor's physical features and its training-free baseline. A slot is one place of the template
(a NAS-Bench-201 edge in one stage, an FBNet position, a DARTS candidate edge in one cell); its layers for each
choice are evaluated on their own, as HW-NAS-Bench built its per-block FPGA tables. On a layer-additive mapper
(Eyeriss, generic) a network is exactly its fixed layers plus the sum of its slots; on the chunk pipeline it is
not: its period is set by the slowest stage, so a slot's period alone is a lower bound on the stage that holds
it, and the slowest slot alone (`max`) is the predictor's bottleneck feature.

Costs are in the target's additive unit: ``latency_ms``, ``energy_mj``, and for ``throughput_fps`` the period
in ms per frame (1000 / fps; a layer-by-layer mapper runs one batch after another, so there latency / batch).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..datasets.spaces import get_space
from ..datasets.tasks import configured, map_rows_task
from ..specs import load_spec

#: Targets a predictor learns, each with the column of a build that holds it.
TARGETS = ("latency_ms", "throughput_fps", "energy_mj")


def check_target(target) -> str:
    if target not in TARGETS:
        raise ValueError(f"target {target!r} is not one of {list(TARGETS)}")
    return target


def to_cost(target: str, values):
    """A target's values in its additive unit (ms per frame for throughput)."""
    values = np.asarray(values, dtype=np.float64)
    if target == "throughput_fps":
        with np.errstate(divide="ignore"):
            return 1e3 / values
    return values


def from_cost(target: str, cost):
    """Inverse of `to_cost` (works on numpy arrays and torch tensors)."""
    return 1e3 / cost if target == "throughput_fps" else cost


@dataclass(frozen=True)
class SlotCosts:
    """Per variable v and choice k: the sum (`total`, each slot as often as the template holds it) and the
    largest (`largest`) of its slots' costs alone;
    `fixed`: the template's fixed layers alone; `per_slot`: the (slots x choices) table behind both."""

    total: np.ndarray
    largest: np.ndarray
    fixed: float
    per_slot: np.ndarray


def slot_costs(space: str, dataset: str, arch, budget, objective, batch: int, target: str) -> SlotCosts:
    """Each (slot, choice) of `space` costed alone on `arch` (with `budget`, `objective`, `batch` as the build)."""
    from ..mappers import resolve_objective

    check_target(target)
    sp = get_space(space)
    spec = load_spec(arch).for_space(sp.name)
    mapper, config = configured(spec, budget)
    objective = resolve_objective(mapper, config, objective)
    table = sp.layer_table(sp.select(None, 1, 0, None, dataset).choices, dataset, batch)
    items = [rows for per_choice in table.slot_rows for rows in per_choice]
    items.append(tuple(value for kind, value in table.template if kind == 0))           # the fixed layers
    if not hasattr(mapper, "map_network"):                                               # layer-additive
        rows = map_rows_task(spec, budget, objective, table.layers)
        column = "energy_mj" if target == "energy_mj" else "latency_ms"
        per_row = np.array([r[column] for r in rows] + [0.0])
        cost = np.array([per_row[list(r)].sum() if r else 0.0 for r in items])
        if target == "throughput_fps":
            cost = cost / batch
    elif hasattr(mapper, "evaluate_sequences") and hasattr(mapper, "encode_layers"):
        cost = _evaluate_alone(mapper, config, objective, table.layers, items, target)
    else:
        raise ValueError(f"arch {spec.name!r}: its mapper is not layer-additive and has no batch interface "
                         "(encode_layers / evaluate_sequences), so slots cannot be costed alone; fit with "
                         "features='one-hot'")
    n_choices = max(len(p) for p in table.slot_rows)
    per_slot = np.zeros((len(table.slot_rows), n_choices))
    k = 0
    for s, per_choice in enumerate(table.slot_rows):
        per_slot[s, :len(per_choice)] = cost[k:k + len(per_choice)]
        k += len(per_choice)
    n_vars = int(table.slot_var.max()) + 1
    total = np.zeros((n_vars, n_choices))
    largest = np.zeros((n_vars, n_choices))
    # a slot can recur in the template (NAS-Bench-201: one slot per stage and edge, in each of the stage's cells)
    uses = np.bincount([value for kind, value in table.template if kind == 1], minlength=len(table.slot_rows))
    np.add.at(total, table.slot_var, uses[:, None] * per_slot)
    np.maximum.at(largest, table.slot_var, per_slot)
    return SlotCosts(total, largest, float(cost[-1]), per_slot)


def _evaluate_alone(mapper, config, objective, layers, items, target) -> np.ndarray:
    """Cost of each row tuple evaluated as a network of its own (empty tuples cost 0)."""
    encoded = np.asarray(mapper.encode_layers(layers), dtype=np.float64)
    present = [i for i, r in enumerate(items) if r]
    width = max(len(items[i]) for i in present)
    seq = np.full((len(present), width), -1, dtype=np.int64)
    for j, i in enumerate(present):
        seq[j, :len(items[i])] = items[i]
    lengths = np.array([len(items[i]) for i in present], dtype=np.int64)
    res = mapper.evaluate_sequences(encoded, seq, lengths, config, objective)
    if target == "throughput_fps":
        fps = np.asarray(res["frames_per_s"], dtype=np.float64)
        # layers with no stage of their own (identity, zero) bound no period
        values = np.where(np.isfinite(fps) & (fps > 0), 1e3 / np.where(fps > 0, fps, 1.0), 0.0)
    else:
        values = np.asarray(res[target], dtype=np.float64)
    cost = np.zeros(len(items))
    cost[present] = values
    return cost
