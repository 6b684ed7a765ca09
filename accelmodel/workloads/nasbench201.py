"""NAS-Bench-201 networks as layer graphs.

Macro-architecture (Dong & Yang, ICLR 2020; the reference `TinyNetwork`/`InferCell` code): a 3×3 stem conv
to C=16 channels, three stages of N=5 cells at 16, 32 and 64 channels, a ResNet basic block with stride 2
between stages (3×3 s2 conv, 3×3 conv, shortcut 2×2 s2 average pool + 1×1 conv, add), BN+ReLU, global
average pooling and a linear classifier. BN and ReLU are fused into the convolutions (ReLU-Conv-BN edges)
and carry no layer of their own.

A cell has four nodes; node i sums one edge from each earlier node j < i. The arch string lists the edges
node by node: ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (op~j is the edge from node j).
"""

from __future__ import annotations

import csv
import itertools
import numbers
import os
import re
from typing import Sequence

import numpy as np

from .graph import MAX_BATCH, LayerGraph, conv2d, elementwise, global_avgpool, linear, pool

#: Cell operations in NAS-Bench-201's order.
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")

#: Data set -> (input height/width, number of classes).
DATASETS = {"cifar10": (32, 10), "cifar100": (32, 100), "ImageNet16-120": (16, 120)}

STEM_CHANNELS = 16
CELLS_PER_STAGE = 5
NUM_EDGES = 6
#: (node, from-node) of the six edges in arch-string order.
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))

_NODE_RE = re.compile(r"^\|(.*)\|$")


def parse_arch(arch: str | Sequence[str]) -> tuple[str, ...]:
    """The six edge ops of `arch` (an arch string or a sequence of six op names), checked."""
    if isinstance(arch, str):
        nodes = arch.split("+")
        if len(nodes) != 3:
            raise ValueError(
                f"NAS-Bench-201 arch string {arch!r} has {len(nodes)} node groups separated by '+'; expected 3 "
                "(e.g. '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|')"
            )
        ops: list[str] = []
        for node, group in enumerate(nodes, start=1):
            m = _NODE_RE.match(group)
            if not m:
                raise ValueError(f"NAS-Bench-201 arch string {arch!r}: node {node} group {group!r} must be '|op~j|...|'")
            entries = m.group(1).split("|")
            if len(entries) != node:
                raise ValueError(
                    f"NAS-Bench-201 arch string {arch!r}: node {node} has {len(entries)} edges, expected {node}"
                )
            for j, entry in enumerate(entries):
                name, sep, src = entry.partition("~")
                if not sep or src != str(j):
                    raise ValueError(
                        f"NAS-Bench-201 arch string {arch!r}: node {node} edge {j} is {entry!r}, expected 'op~{j}'"
                    )
                ops.append(name)
    else:
        if isinstance(arch, bytes) or not isinstance(arch, Sequence):
            raise ValueError(f"NAS-Bench-201 arch must be an arch string like {arch_string(('nor_conv_3x3',) * 6)!r} "
                             f"or a sequence of {NUM_EDGES} op names, got {arch!r} ({type(arch).__name__})")
        ops = list(arch)
        if len(ops) != NUM_EDGES:
            raise ValueError(f"NAS-Bench-201 op list has {len(ops)} entries, expected {NUM_EDGES}: {ops!r}")
    for pos, op in enumerate(ops):
        if not isinstance(op, str) or op not in OPS:
            node, src = EDGES[pos]
            raise ValueError(
                f"NAS-Bench-201 edge {pos} (node {node} <- node {src}): op {op!r} is not one of {list(OPS)}"
            )
    return tuple(ops)


def arch_string(ops: Sequence[str]) -> str:
    """The canonical arch string of six edge ops."""
    ops = parse_arch(list(ops))
    groups, k = [], 0
    for node in (1, 2, 3):
        groups.append("|" + "|".join(f"{ops[k + j]}~{j}" for j in range(node)) + "|")
        k += node
    return "+".join(groups)


def nasbench201_arch_strings() -> list[str]:
    """All 15,625 arch strings, in the order of `itertools.product` over OPS (not NAS-Bench-201's index)."""
    return [arch_string(ops) for ops in itertools.product(OPS, repeat=NUM_EDGES)]


def _check_dataset(dataset: str) -> tuple[int, int]:
    if not isinstance(dataset, str) or dataset not in DATASETS:
        raise ValueError(f"NAS-Bench-201 dataset {dataset!r} is not one of {list(DATASETS)}")
    return DATASETS[dataset]


def _check_batch(batch) -> int:
    """`batch` as a Python int in 1..MAX_BATCH (numpy integers accepted, bools refused)."""
    if not isinstance(batch, (numbers.Integral, np.integer)) or isinstance(batch, (bool, np.bool_)) or batch <= 0:
        raise ValueError(f"batch must be a positive int, got {batch!r}")
    if batch > MAX_BATCH:
        raise ValueError(f"batch {int(batch):,} exceeds {MAX_BATCH:,}, the largest the mappers' searches are bounded for")
    return int(batch)


def nasbench201(arch: str | Sequence[str], dataset: str = "cifar10", batch: int = 1) -> LayerGraph:
    """The NAS-Bench-201 network of `arch` for `dataset` as a LayerGraph."""
    ops = parse_arch(arch)
    size, classes = _check_dataset(dataset)
    batch = _check_batch(batch)
    g = LayerGraph(f"nb201:{arch_string(ops)}", (batch, 3, size, size),
                   meta={"space": "nasbench201", "arch_str": arch_string(ops), "dataset": dataset})

    stem = g.add(conv2d("stem", g.input_shape, STEM_CHANNELS, 3, 1, 1, tags={"role": "stem"}))
    prev = stem.name
    shape = stem.out_shape
    channels = STEM_CHANNELS
    for stage in range(3):
        if stage > 0:
            prev, shape = _reduction_block(g, f"reduce{stage}", prev, shape, channels * 2)
            channels *= 2
        for cell in range(CELLS_PER_STAGE):
            prev = _cell(g, f"s{stage}c{cell}", prev, shape, ops)
    gap = g.add(global_avgpool("gap", shape), prev)
    g.add(linear("classifier", gap.out_shape, classes), gap.name)
    return g


def _reduction_block(g: LayerGraph, name: str, src: str, shape, out_channels: int):
    a = g.add(conv2d(f"{name}.conv_a", shape, out_channels, 3, 2, 1), src)
    b = g.add(conv2d(f"{name}.conv_b", a.out_shape, out_channels, 3, 1, 1), a.name)
    p = g.add(pool(f"{name}.shortcut_pool", shape, "avg", 2, 2, 0), src)
    s = g.add(conv2d(f"{name}.shortcut_conv", p.out_shape, out_channels, 1, 1, 0), p.name)
    out = g.add(elementwise(f"{name}.add", "add", b.out_shape, 2), [b.name, s.name])
    return out.name, out.out_shape


def _edge(g: LayerGraph, name: str, op: str, src: str, shape):
    c = shape[1]
    if op == "nor_conv_3x3":
        layer = conv2d(name, shape, c, 3, 1, 1, tags={"cell_op": op})
    elif op == "nor_conv_1x1":
        layer = conv2d(name, shape, c, 1, 1, 0, tags={"cell_op": op})
    elif op == "avg_pool_3x3":
        layer = pool(name, shape, "avg", 3, 1, 1, tags={"cell_op": op})
    elif op == "skip_connect":
        layer = elementwise(name, "identity", shape, tags={"cell_op": op})
    else:  # "none"
        layer = elementwise(name, "zero", shape, tags={"cell_op": op})
    return g.add(layer, src).name


def _cell(g: LayerGraph, name: str, src: str, shape, ops) -> str:
    node_tensor = {0: src}
    k = 0
    for node in (1, 2, 3):
        edges = [_edge(g, f"{name}.e{node}{j}.{ops[k + j]}", ops[k + j], node_tensor[j], shape) for j in range(node)]
        k += node
        if len(edges) == 1:
            node_tensor[node] = edges[0]
        else:
            node_tensor[node] = g.add(elementwise(f"{name}.n{node}.add", "add", shape, len(edges)), edges).name
    return node_tensor[3]


def read_index_file(path: str | os.PathLike, dataset: str | None = None) -> dict[int, str]:
    """NAS-Bench-201 index -> arch string from the user's own file.

    Accepts a CSV with `index` and `arch_str` columns, or a HW-NAS-Bench pickle (``HW-NAS-Bench-v1_0.pickle``:
    ``data["nasbench201"][dataset]["config"][index]["arch_str"]``; `dataset` picks the data set, default the
    first of cifar10, cifar100, ImageNet16-120 present, as all three list the networks in one order). Without a
    file, `accelmodel.datasets.nasbench201_index_order()` generates NAS-Bench-201's own order.
    """
    path = os.fspath(path)
    if dataset is not None and dataset not in DATASETS:
        raise ValueError(f"NAS-Bench-201 dataset {dataset!r} is not one of {list(DATASETS)}")
    if not os.path.exists(path):
        raise FileNotFoundError(f"index file {path!r} does not exist")
    if path.endswith((".pickle", ".pkl")):
        from ..safe_pickle import load  # data only: a crafted pickle cannot run code

        data = load(path, "index file")
        per_dataset = data.get("nasbench201") if isinstance(data, dict) else None
        if not isinstance(per_dataset, dict):
            raise ValueError(f"index file {path!r}: expected a HW-NAS-Bench pickle with a 'nasbench201' entry")
        if dataset is None or dataset not in per_dataset:
            present = [d for d in DATASETS if d in per_dataset]
            if not present:
                raise ValueError(f"index file {path!r}: 'nasbench201' has none of {list(DATASETS)}")
            dataset = present[0]
        table = per_dataset[dataset]
        configs = table.get("config") if isinstance(table, dict) else None
        if configs is None:
            raise ValueError(f"index file {path!r}: nasbench201/{dataset} has no 'config' table")
        items = configs.items() if isinstance(configs, dict) else enumerate(configs)
        out = {}
        for idx, rec in items:
            if isinstance(idx, str) or not float(idx).is_integer():
                raise ValueError(f"index file {path!r}: nasbench201/{dataset}/config is keyed by {idx!r}, not by "
                                 "NAS-Bench-201 index (a table built without an index file carries no indices)")
            arch = rec.get("arch_str") if isinstance(rec, dict) else None
            if arch is None:
                raise ValueError(f"index file {path!r}: nasbench201/{dataset}/config[{idx}] has no 'arch_str'")
            out[int(idx)] = arch_string(parse_arch(arch))
        return out
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"index", "arch_str"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"index file {path!r}: missing column(s) {sorted(missing)}; found {reader.fieldnames}")
        out = {}
        for line, row in enumerate(reader, start=2):
            try:
                idx = int(row["index"])
            except ValueError:
                raise ValueError(f"index file {path!r} line {line}: index {row['index']!r} is not an integer") from None
            if idx in out:
                raise ValueError(f"index file {path!r} line {line}: index {idx} appears twice")
            out[idx] = arch_string(parse_arch(row["arch_str"]))
        return out
