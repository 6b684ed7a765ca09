"""DARTS search-space networks (Liu et al., ICLR 2019) as layer graphs.

The network is the evaluation network of DARTS' reference code (github quark0/darts, ``cnn/model.py``:
``NetworkCIFAR`` / ``NetworkImageNet``; ops from ``cnn/operations.py``; genotypes from ``cnn/genotypes.py``):

- stem, CIFAR (32x32): a 3x3 conv 3 -> 3C (+BN). ImageNet (224x224): ``stem0`` = 3x3 s2 conv 3 -> C/2, 3x3 s2
  conv C/2 -> C; ``stem1`` = 3x3 s2 conv C -> C (56x56 and 28x28 out); the first cell's s0 is stem0's output.
- ``layers`` cells; cells ``layers // 3`` and ``2 * layers // 3`` are reduction cells that double the cell
  channels (C_curr) and halve the plane. Cell i reads the outputs of cells i-2 and i-1 (s0, s1; the stem for
  the first cells) and preprocesses them to C_curr channels: s1 with ReLU-1x1 conv-BN, s0 likewise, or with a
  FactorizedReduce when cell i-1 was a reduction cell (s0 is then at twice the plane).
- a cell has ``steps`` (4) nodes; node k sums two ops, each on one of the cell's earlier states (0, 1: the
  preprocessed inputs; 2 + j: node j). In a reduction cell an op on state 0 or 1 has stride 2. The cell's
  output concatenates the states of ``*_concat`` (4 nodes: 4 x C_curr channels).
- global average pooling (CIFAR ``AdaptiveAvgPool2d(1)``; ImageNet ``AvgPool2d(7)`` on the 7x7 map, the same
  thing) and a linear classifier with bias. The auxiliary head (training only) is not built.

Ops (``operations.py``), on C_curr channels with the cell's stride s:

==================  =====================================================================================
``none``            ``Zero(s)``: an explicit zero layer (free); with s = 2 its output plane is subsampled
``max_pool_3x3``    3x3 max pool, stride s, padding 1
``avg_pool_3x3``    3x3 average pool, stride s, padding 1
``skip_connect``    identity (s = 1), or ``FactorizedReduce(C, C)`` (s = 2): two 1x1 s2 convs C -> C/2, the
                    second on the input shifted by one pixel, concatenated (+BN)
``sep_conv_kxk``    ``SepConv``: ReLU, kxk depthwise (stride s, padding k//2), 1x1 conv, BN, ReLU, kxk depthwise
                    (stride 1), 1x1 conv, BN: two depthwise-separable pairs, the first with the stride
                    (k = 3, 5; 7 for the NASNet genotype)
``dil_conv_kxk``    ``DilConv``: ReLU, kxk depthwise with dilation 2 (stride s, padding 2 for k=3, 4 for k=5),
                    1x1 conv, BN
==================  =====================================================================================

BatchNorm and ReLU are fused into the convolutions and carry no layer (as in every accelmodel workload), so
``LayerGraph.params`` counts conv and classifier weights only; `bn_params` gives the BN affine parameters DARTS
counts on top. FactorizedReduce's second conv reads the input shifted by one pixel (``x[:, :, 1:, 1:]``); on
an even plane it computes exactly the outputs and MACs of a 1x1 stride-2 conv on the whole input, which is how
it is built here (the shift is an address offset).

Genotypes: DARTS' ``Genotype(normal, normal_concat, reduce, reduce_concat)`` namedtuples (this module defines
the same type; any object with those four attributes, or a plain 4-tuple, is accepted), e.g. `DARTS_V1`,
`DARTS_V2` as published in ``genotypes.py``.

Compact integer code (`encode` / `decode`)
------------------------------------------
A genotype of the DARTS space proper (4 nodes, two ops on two *different* states per node, ops from
`PRIMITIVES`, concat [2, 3, 4, 5]) is one int64. Per cell, node k (k = 0..3) has ``k + 2`` candidate states
and the digit ``(pair * 8 + op_low) * 8 + op_high``, where ``pair`` indexes the state pair (low < high) in
``itertools.combinations(range(k + 2), 2)`` order and ``op_low`` / ``op_high`` are the `PRIMITIVES` indices of
the ops on the lower / higher state; node radices are 64 x (1, 3, 6, 10). The cell code is the mixed-radix
number of the four digits (node 0 most significant; ``CELL_CODES`` = 3,019,898,880 values), and the network
code is ``normal_code * CELL_CODES + reduce_code`` (< 9.12e18 < 2**63). The order of the two ops inside a node
does not change the network, so it is not encoded: `decode` returns them lower state first.

EH-DNAS's data sets (github qianjiangcn/eh-dnas, ``darts_sampler.py``) write an architecture as 28 digits,
one per candidate edge (the 14 edges of the normal cell, then of the reduction cell; edges of node k are
``2 + 3 + ... `` offset, one per earlier state), each 0 (edge absent) or the `PRIMITIVES` index of its op:
`from_edge_vector` / `to_edge_vector` convert (a 0 cannot say ``none``, so such genotypes have no vector).
"""

from __future__ import annotations

import ast
import itertools
import numbers
from collections import namedtuple
from typing import Sequence

import numpy as np

from .graph import LayerGraph, concat, conv2d, elementwise, global_avgpool, linear, pool
from .nasbench201 import _check_batch

Genotype = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")

#: The eight candidate ops of the DARTS space, in ``genotypes.PRIMITIVES`` order (code digits index it).
PRIMITIVES = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
              "dil_conv_3x3", "dil_conv_5x5")
#: Every op this builder knows: the primitives and ``sep_conv_7x7`` of ``operations.OPS`` (NASNet genotype).
OPS = PRIMITIVES + ("sep_conv_7x7",)

#: Published genotypes (``cnn/genotypes.py`` of quark0/darts); DARTS = DARTS_V2 there.
DARTS_V1 = Genotype(
    normal=[("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 0), ("sep_conv_3x3", 1),
            ("skip_connect", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 2)],
    normal_concat=[2, 3, 4, 5],
    reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 0),
            ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("avg_pool_3x3", 0)],
    reduce_concat=[2, 3, 4, 5])
DARTS_V2 = Genotype(
    normal=[("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
            ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)],
    normal_concat=[2, 3, 4, 5],
    reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
            ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)],
    reduce_concat=[2, 3, 4, 5])
NASNet = Genotype(
    normal=[("sep_conv_5x5", 1), ("sep_conv_3x3", 0), ("sep_conv_5x5", 0), ("sep_conv_3x3", 0),
            ("avg_pool_3x3", 1), ("skip_connect", 0), ("avg_pool_3x3", 0), ("avg_pool_3x3", 0),
            ("sep_conv_3x3", 1), ("skip_connect", 1)],
    normal_concat=[2, 3, 4, 5, 6],
    reduce=[("sep_conv_5x5", 1), ("sep_conv_7x7", 0), ("max_pool_3x3", 1), ("sep_conv_7x7", 0),
            ("avg_pool_3x3", 1), ("sep_conv_5x5", 0), ("skip_connect", 3), ("avg_pool_3x3", 2),
            ("sep_conv_3x3", 2), ("max_pool_3x3", 1)],
    reduce_concat=[4, 5, 6])
GENOTYPES = {"DARTS_V1": DARTS_V1, "DARTS_V2": DARTS_V2, "DARTS": DARTS_V2, "NASNet": NASNet}

#: Data set -> (input height/width, classes, stem). DARTS evaluates on CIFAR-10 and ImageNet.
DATASETS = {"cifar10": (32, 10, "cifar"), "ImageNet": (224, 1000, "imagenet")}
DATASET_ALIASES = {"imagenet": "ImageNet", "CIFAR10": "cifar10", "cifar-10": "cifar10"}

STEPS = 4
CONCAT = (2, 3, 4, 5)
#: The 14 candidate edges of a cell as (node, state), node-major: the order of EH-DNAS's edge vectors and
#: of the template slots of the data-set builder.
EDGES = tuple((k, j) for k in range(STEPS) for j in range(k + 2))
NUM_EDGES = len(EDGES)
EDGE_INDEX = {e: i for i, e in enumerate(EDGES)}
#: state pairs (low, high) of each node, in code order
NODE_PAIRS = tuple(tuple(itertools.combinations(range(k + 2), 2)) for k in range(STEPS))
NODE_RADIX = tuple(len(p) * len(PRIMITIVES) ** 2 for p in NODE_PAIRS)          # 64, 192, 384, 640
CELL_CODES = int(np.prod(NODE_RADIX))                                        # 3,019,898,880
NUM_CODES = CELL_CODES ** 2


# ---- genotypes -------------------------------------------------------------------------------------

def canonical_dataset(dataset: str) -> str:
    if isinstance(dataset, str):
        dataset = DATASET_ALIASES.get(dataset, dataset)
        if dataset in DATASETS:
            return dataset
    raise ValueError(f"DARTS dataset {dataset!r} is not one of {list(DATASETS)} ('imagenet' is accepted too)")


def _check_cell(ops, concat_, kind: str) -> tuple[tuple[tuple[str, int], ...], tuple[int, ...]]:
    try:
        ops = [tuple(o) for o in ops]
    except TypeError:
        raise ValueError(f"DARTS {kind} cell: ops must be a list of (op, state) pairs, got {ops!r}") from None
    if not ops or len(ops) % 2:
        raise ValueError(f"DARTS {kind} cell: {len(ops)} (op, state) pairs; a cell needs two per node (an even, "
                         "non-zero number)")
    out = []
    for pos, entry in enumerate(ops):
        node, which = divmod(pos, 2)
        where = f"DARTS {kind} cell, node {node} (state {node + 2}), input {which}"
        if len(entry) != 2:
            raise ValueError(f"{where}: {entry!r} is not an (op, state) pair")
        op, state = entry
        if op not in OPS:
            raise ValueError(f"{where}: op {op!r} is not one of {list(OPS)}")
        if isinstance(state, bool) or not isinstance(state, numbers.Integral) or not 0 <= state < node + 2:
            raise ValueError(f"{where} ({op}): state {state!r} must be an int in 0..{node + 1} (0, 1: the cell "
                             "inputs; 2 + j: node j)")
        out.append((op, int(state)))
    steps = len(out) // 2
    try:
        concat_ = tuple(int(i) for i in concat_)
    except (TypeError, ValueError):
        raise ValueError(f"DARTS {kind}_concat must be a list of state indices, got {concat_!r}") from None
    if not concat_ or any(not 0 <= i < steps + 2 for i in concat_):
        raise ValueError(f"DARTS {kind}_concat {list(concat_)} must list states in 0..{steps + 1}")
    return tuple(out), concat_


def parse_genotype(genotype) -> Genotype:
    """`genotype` as a checked Genotype of tuples.

    Accepts a Genotype (or any object with ``normal normal_concat reduce reduce_concat``), a 4-tuple in that
    order, a dict with those keys, an int code (`decode`), a name of `GENOTYPES`, a string of 28 edge digits
    (`from_edge_vector`), a decimal code string, or the text DARTS prints (``Genotype(normal=[...],
    normal_concat=range(2, 6), ...)``).
    """
    if isinstance(genotype, (numbers.Integral, np.integer)) and not isinstance(genotype, bool):
        return decode(int(genotype))
    if isinstance(genotype, str):
        return _parse_text(genotype)
    if isinstance(genotype, dict):
        missing = [f for f in Genotype._fields if f not in genotype]
        if missing:
            raise ValueError(f"DARTS genotype dict misses {missing}; it needs {list(Genotype._fields)}")
        fields = [genotype[f] for f in Genotype._fields]
    elif all(hasattr(genotype, f) for f in Genotype._fields):
        fields = [getattr(genotype, f) for f in Genotype._fields]
    else:
        try:
            fields = list(genotype)
        except TypeError:
            raise ValueError(f"DARTS genotype {genotype!r}: expected a Genotype, a 4-tuple (normal, normal_concat, "
                             "reduce, reduce_concat), an int code or a string") from None
        if len(fields) != 4:
            raise ValueError(f"DARTS genotype has {len(fields)} fields; expected 4 (normal, normal_concat, reduce, "
                             "reduce_concat)")
    normal, normal_concat = _check_cell(fields[0], fields[1], "normal")
    reduce_, reduce_concat = _check_cell(fields[2], fields[3], "reduce")
    return Genotype(normal, normal_concat, reduce_, reduce_concat)


def _parse_text(text: str) -> Genotype:
    body = text.strip()
    if body in GENOTYPES:
        return parse_genotype(GENOTYPES[body])
    if body.isascii() and body.isdigit():
        if len(body) == 2 * NUM_EDGES:
            return from_edge_vector(body)
        return decode(int(body))
    try:
        tree = ast.parse(body, mode="eval").body
    except SyntaxError:
        tree = None
    if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "Genotype"
            and not tree.args and {k.arg for k in tree.keywords} == set(Genotype._fields)):
        raise ValueError(f"DARTS genotype {text!r}: expected a name in {sorted(GENOTYPES)}, an int code, "
                         f"{2 * NUM_EDGES} edge digits or 'Genotype(normal=[...], normal_concat=[...], reduce=[...], "
                         "reduce_concat=[...])'")
    fields = {}
    for kw in tree.keywords:
        v = kw.value
        if isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == "range":
            fields[kw.arg] = range(*(ast.literal_eval(a) for a in v.args))
        else:
            try:
                fields[kw.arg] = ast.literal_eval(v)
            except ValueError:
                raise ValueError(f"DARTS genotype text: field {kw.arg} is not a literal") from None
    return parse_genotype(fields)


def genotype_text(genotype) -> str:
    """The genotype as DARTS prints it (round-trips through `parse_genotype`)."""
    g = parse_genotype(genotype)
    return (f"Genotype(normal={[tuple(o) for o in g.normal]}, normal_concat={list(g.normal_concat)}, "
            f"reduce={[tuple(o) for o in g.reduce]}, reduce_concat={list(g.reduce_concat)})")


# ---- compact code ------------------------------------------------------------------------------------

def _cell_digits(ops, kind: str) -> list[int]:
    if len(ops) != 2 * STEPS:
        raise ValueError(f"DARTS {kind} cell has {len(ops) // 2} nodes; the code covers the DARTS space's {STEPS}")
    digits = []
    for k in range(STEPS):
        (op_a, a), (op_b, b) = ops[2 * k], ops[2 * k + 1]
        if a == b:
            raise ValueError(f"DARTS {kind} cell, node {k}: both ops read state {a}; the DARTS space takes two "
                             "different states per node (such genotypes build, but have no code)")
        for op in (op_a, op_b):
            if op not in PRIMITIVES:
                raise ValueError(f"DARTS {kind} cell, node {k}: op {op!r} is not in the DARTS space {list(PRIMITIVES)} "
                                 "(it builds, but has no code)")
        if a > b:
            (op_a, a), (op_b, b) = (op_b, b), (op_a, a)
        pair = NODE_PAIRS[k].index((a, b))
        digits.append((pair * len(PRIMITIVES) + PRIMITIVES.index(op_a)) * len(PRIMITIVES) + PRIMITIVES.index(op_b))
    return digits


def encode(genotype) -> int:
    """The compact int64 code of a genotype of the DARTS space (see the module docstring)."""
    g = parse_genotype(genotype)
    code = 0
    for ops, cat, kind in ((g.normal, g.normal_concat, "normal"), (g.reduce, g.reduce_concat, "reduce")):
        if sorted(cat) != list(CONCAT):
            raise ValueError(f"DARTS {kind}_concat {list(cat)}: the code covers concat {list(CONCAT)} only")
        cell = 0
        for radix, digit in zip(NODE_RADIX, _cell_digits(ops, kind)):
            cell = cell * radix + digit
        code = code * CELL_CODES + cell
    return code


def decode(code: int) -> Genotype:
    """The genotype of a code (ops of a node lower state first; concat [2, 3, 4, 5])."""
    if isinstance(code, bool) or not isinstance(code, (numbers.Integral, np.integer)) or not 0 <= code < NUM_CODES:
        raise ValueError(f"DARTS code {code!r} must be an int in 0..{NUM_CODES - 1}")
    digits = decode_array(np.array([int(code)], dtype=np.int64))[0]
    cells = []
    for c in range(2):
        ops = []
        for k in range(STEPS):
            pair, op_a, op_b = digits[c, k]
            a, b = NODE_PAIRS[k][pair]
            ops += [(PRIMITIVES[op_a], a), (PRIMITIVES[op_b], b)]
        cells.append(tuple(ops))
    return Genotype(cells[0], CONCAT, cells[1], CONCAT)


def decode_array(codes: np.ndarray) -> np.ndarray:
    """Codes -> int array [n, 2 cells, 4 nodes, (pair, op_low, op_high)], vectorised."""
    codes = np.asarray(codes, dtype=np.int64)
    if codes.size and (codes.min() < 0 or codes.max() >= NUM_CODES):
        raise ValueError(f"DARTS codes must be in 0..{NUM_CODES - 1}")
    out = np.empty((len(codes), 2, STEPS, 3), dtype=np.int64)
    cells = (codes // CELL_CODES, codes % CELL_CODES)
    nops = len(PRIMITIVES)
    for c, rest in enumerate(cells):
        for k in range(STEPS - 1, -1, -1):
            digit = rest % NODE_RADIX[k]
            rest = rest // NODE_RADIX[k]
            out[:, c, k, 0] = digit // (nops * nops)
            out[:, c, k, 1] = (digit // nops) % nops
            out[:, c, k, 2] = digit % nops
    return out


def edge_choices(codes: np.ndarray) -> np.ndarray:
    """Codes -> [n, 28] per-edge choice: 0 = edge absent, 1 + op index otherwise (normal edges, then reduce)."""
    digits = decode_array(codes)
    out = np.zeros((len(digits), 2 * NUM_EDGES), dtype=np.int64)
    rows = np.arange(len(digits))
    for c in range(2):
        for k in range(STEPS):
            pairs = np.array(NODE_PAIRS[k], dtype=np.int64)[digits[:, c, k, 0]]       # [n, 2] states
            for side in range(2):
                edge = c * NUM_EDGES + EDGE_INDEX[(k, 0)] + pairs[:, side]
                out[rows, edge] = 1 + digits[:, c, k, 1 + side]
    return out


def from_edge_vector(vector) -> Genotype:
    """EH-DNAS's 28-digit edge vector (a string, a sequence of ints, or the int they store, whose leading
    zeros are lost) as a genotype."""
    if isinstance(vector, (numbers.Integral, np.integer)) and not isinstance(vector, bool):
        vector = str(int(vector)).zfill(2 * NUM_EDGES)
    digits = [int(ch) for ch in vector] if isinstance(vector, str) else list(vector)
    if len(digits) != 2 * NUM_EDGES or not all(isinstance(d, (int, np.integer)) and 0 <= d < len(PRIMITIVES)
                                                  for d in digits):
        raise ValueError(f"DARTS edge vector {vector!r}: expected {2 * NUM_EDGES} digits 0..{len(PRIMITIVES) - 1} "
                         "(14 normal-cell edges, then 14 reduction-cell edges; 0 = no edge)")
    cells = []
    for c, kind in enumerate(("normal", "reduce")):
        ops = []
        for k in range(STEPS):
            chosen = [(PRIMITIVES[digits[c * NUM_EDGES + EDGE_INDEX[(k, j)]]], j) for j in range(k + 2)
                      if digits[c * NUM_EDGES + EDGE_INDEX[(k, j)]]]
            if len(chosen) != 2:
                raise ValueError(f"DARTS edge vector {vector!r}: {kind} cell node {k} has {len(chosen)} edges "
                                 f"(edges {EDGE_INDEX[(k, 0)]}..{EDGE_INDEX[(k, k + 1)]}); a node takes exactly 2")
            ops += chosen
        cells.append(tuple(ops))
    return Genotype(cells[0], CONCAT, cells[1], CONCAT)


def to_edge_vector(genotype) -> str:
    """The 28-digit EH-DNAS edge vector of a genotype of the DARTS space (no ``none`` op)."""
    g = decode(encode(genotype))
    digits = [0] * (2 * NUM_EDGES)
    for c, ops in enumerate((g.normal, g.reduce)):
        for pos, (op, state) in enumerate(ops):
            if op == "none":
                raise ValueError(f"DARTS genotype has a 'none' op at node {pos // 2}; an edge vector cannot say it "
                                 "(0 means no edge)")
            digits[c * NUM_EDGES + EDGE_INDEX[(pos // 2, state)]] = PRIMITIVES.index(op)
    return "".join(map(str, digits))


# ---- sampling ---------------------------------------------------------------------------------------

#: How `sample_codes` draws a node's two ops: ``uniform`` - each of the 7 ops other than ``none``
#: independently (the genotypes DARTS derives never hold ``none``); ``eh-dnas`` - as EH-DNAS's
#: ``darts_sampler.py``: two different ops of ``PRIMITIVES[1:7]`` (max_pool .. dil_conv_3x3; it never draws
#: dil_conv_5x5). Both draw the two states of a node uniformly among its pairs.
SCHEMES = ("uniform", "eh-dnas")


def sample_codes(n: int, seed=0, scheme: str = "uniform") -> np.ndarray:
    """`n` random genotype codes (int64), reproducible with `seed`; duplicates are possible (as in EH-DNAS)."""
    if isinstance(n, bool) or not isinstance(n, (numbers.Integral, np.integer)) or n <= 0:
        raise ValueError(f"sample must be a positive int, got {n!r}")
    if scheme not in SCHEMES:
        raise ValueError(f"DARTS sampling scheme {scheme!r} is not one of {list(SCHEMES)}")
    rng = np.random.default_rng(seed)
    n = int(n)
    nops = len(PRIMITIVES)
    code = np.zeros(n, dtype=np.int64)
    for _cell in range(2):
        cell = np.zeros(n, dtype=np.int64)
        for k in range(STEPS):
            pair = rng.integers(0, len(NODE_PAIRS[k]), size=n)
            if scheme == "uniform":
                op_a = rng.integers(1, nops, size=n)
                op_b = rng.integers(1, nops, size=n)
            else:
                op_a = rng.integers(1, 7, size=n)
                op_b = rng.integers(1, 6, size=n)
                op_b = op_b + (op_b >= op_a)          # a different op of 1..6
            cell = cell * NODE_RADIX[k] + (pair * nops + op_a) * nops + op_b
        code = code * CELL_CODES + cell
    return code


# ---- the network -------------------------------------------------------------------------------------

def bn_params(graph: LayerGraph) -> int:
    """BatchNorm affine parameters (2 per channel) of a `darts` graph: one BN after the stem convs, each
    ReLU-conv-BN, each FactorizedReduce, and after each of SepConv's / DilConv's 1x1 convs; BN is fused into
    the convs here and carries no layer, but DARTS counts these parameters."""
    if graph.meta.get("space") != "darts":
        raise ValueError(f"network {graph.name!r} is not a DARTS graph")
    total = 0
    for layer in graph.layers:
        if layer.tag("bn") == "1":
            total += 2 * (layer.K if layer.op == "conv2d" else layer.C)
    return total


def _tags(cell: int | str, role: str, **more) -> dict:
    return {"cell": str(cell), "role": role, **{k: str(v) for k, v in more.items()}}


def _factorized_reduce(g: LayerGraph, name: str, src: str, shape, c_out: int, tags: dict) -> tuple[str, tuple]:
    if c_out % 2:
        raise ValueError(f"{name}: FactorizedReduce needs an even channel count, got {c_out}")
    if shape[2] % 2 or shape[3] % 2:
        raise ValueError(f"{name}: FactorizedReduce needs an even plane (its two halves read the input and the input "
                         f"shifted by one pixel), got {shape[2]}x{shape[3]}")
    a = g.add(conv2d(f"{name}.conv_1", shape, c_out // 2, 1, 2, 0, tags=tags), src)
    b = g.add(conv2d(f"{name}.conv_2", shape, c_out // 2, 1, 2, 0, tags=tags), src)  # on x[:, :, 1:, 1:]
    cat = g.add(concat(f"{name}.cat", [a.out_shape, b.out_shape], tags={**tags, "bn": "1"}), [a.name, b.name])
    return cat.name, cat.out_shape


def _op(g: LayerGraph, name: str, op: str, src: str, shape, stride: int, tags: dict) -> tuple[str, tuple]:
    """Add the layers of one cell op reading `src`; returns (output layer name, output shape)."""
    c = shape[1]
    tags = {**tags, "cell_op": op}
    if op == "none":
        z = g.add(elementwise(name, "zero", shape, stride=stride, tags=tags), src)
        return z.name, z.out_shape
    if op in ("max_pool_3x3", "avg_pool_3x3"):
        p = g.add(pool(name, shape, op[:3], 3, stride, 1, tags=tags), src)
        return p.name, p.out_shape
    if op == "skip_connect":
        if stride == 1:
            i = g.add(elementwise(name, "identity", shape, tags=tags), src)
            return i.name, i.out_shape
        return _factorized_reduce(g, name, src, shape, c, tags)
    k = int(op[-1])
    if op.startswith("sep_conv"):
        x = g.add(conv2d(f"{name}.dw1", shape, c, k, stride, k // 2, groups=c, tags=tags), src)
        x = g.add(conv2d(f"{name}.pw1", x.out_shape, c, 1, 1, 0, tags={**tags, "bn": "1"}), x.name)
        x = g.add(conv2d(f"{name}.dw2", x.out_shape, c, k, 1, k // 2, groups=c, tags=tags), x.name)
        x = g.add(conv2d(f"{name}.pw2", x.out_shape, c, 1, 1, 0, tags={**tags, "bn": "1"}), x.name)
        return x.name, x.out_shape
    # dil_conv_kxk: DilConv(C, C, k, stride, padding = 2 * (k // 2), dilation 2)
    x = g.add(conv2d(f"{name}.dw", shape, c, k, stride, 2 * (k // 2), groups=c, dilation=2, tags=tags), src)
    x = g.add(conv2d(f"{name}.pw", x.out_shape, c, 1, 1, 0, tags={**tags, "bn": "1"}), x.name)
    return x.name, x.out_shape


def _cell(g: LayerGraph, i: int, ops, concat_idx, s0, s1, c_curr: int, reduction: bool, reduction_prev: bool):
    """Cell i reading tensors s0, s1 (name, shape); returns its output (name, shape)."""
    pre = f"cell{i}"
    if reduction_prev:
        p0 = _factorized_reduce(g, f"{pre}.pre0", s0[0], s0[1], c_curr, _tags(i, "preprocess0"))
    else:
        l0 = g.add(conv2d(f"{pre}.pre0", s0[1], c_curr, 1, 1, 0, tags={**_tags(i, "preprocess0"), "bn": "1"}), s0[0])
        p0 = (l0.name, l0.out_shape)
    l1 = g.add(conv2d(f"{pre}.pre1", s1[1], c_curr, 1, 1, 0, tags={**_tags(i, "preprocess1"), "bn": "1"}), s1[0])
    states = [p0, (l1.name, l1.out_shape)]
    for k in range(len(ops) // 2):
        outs = []
        for side in range(2):
            op, j = ops[2 * k + side]
            stride = 2 if reduction and j < 2 else 1
            edge = EDGE_INDEX.get((k, j), -1)
            tags = _tags(i, "edge", node=k, state=j, edge=edge, input=side)
            outs.append(_op(g, f"{pre}.n{k}.{side}.{op}", op, states[j][0], states[j][1], stride, tags))
        if outs[0][1] != outs[1][1]:
            raise ValueError(f"DARTS cell {i} node {k}: its ops give shapes {outs[0][1]} and {outs[1][1]}, which "
                             "cannot be summed")
        add = g.add(elementwise(f"{pre}.n{k}.add", "add", outs[0][1], 2, tags=_tags(i, "node", node=k)),
                    [outs[0][0], outs[1][0]])
        states.append((add.name, add.out_shape))
    parts = [states[j] for j in concat_idx]
    if len(parts) == 1:
        return parts[0]
    if len({p[1][2:] for p in parts}) > 1:
        raise ValueError(f"DARTS cell {i}: concat states {list(concat_idx)} have planes "
                         f"{[p[1][2:] for p in parts]}; in a reduction cell concat only nodes (states >= 2)")
    cat = g.add(concat(f"{pre}.concat", [p[1] for p in parts], tags=_tags(i, "concat")), [p[0] for p in parts])
    return cat.name, cat.out_shape


def darts(genotype, dataset: str = "cifar10", C: int = 16, layers: int = 8, batch: int = 1) -> LayerGraph:
    """The DARTS evaluation network of `genotype` (see the module docstring and `parse_genotype`) with `C`
    initial cell channels and `layers` cells. Defaults: the search-size CIFAR network EH-DNAS's data sets
    use (C = 16, 8 cells); DARTS evaluates C = 36 / 20 cells (CIFAR-10) and C = 48 / 14 cells (ImageNet)."""
    geno = parse_genotype(genotype)
    dataset = canonical_dataset(dataset)
    batch = _check_batch(batch)
    for fname, value, low in (("C", C, 2), ("layers", layers, 1)):
        if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)) or value < low:
            raise ValueError(f"DARTS {fname} must be an int >= {low}, got {value!r}")
    if C % 2:
        raise ValueError(f"DARTS C must be even (the ImageNet stem halves it, FactorizedReduce halves each cell's "
                         f"channels), got {C}")
    C, layers = int(C), int(layers)
    size, classes, stem = DATASETS[dataset]
    try:
        code = encode(geno)
    except ValueError:
        code = None
    name = f"darts:{code}" if code is not None else f"darts:{genotype_text(geno)}"
    g = LayerGraph(name, (batch, 3, size, size), meta={
        "space": "darts", "dataset": dataset, "C": C, "layers": layers, "genotype": genotype_text(geno),
        "code": code})

    stem_tags = {**_tags("stem", "stem"), "bn": "1"}
    if stem == "cifar":
        x = g.add(conv2d("stem", g.input_shape, 3 * C, 3, 1, 1, tags=stem_tags))
        s0 = s1 = (x.name, x.out_shape)
        reduction_prev = False
    else:
        a = g.add(conv2d("stem0.0", g.input_shape, C // 2, 3, 2, 1, tags=stem_tags))
        b = g.add(conv2d("stem0.1", a.out_shape, C, 3, 2, 1, tags=stem_tags), a.name)
        c = g.add(conv2d("stem1", b.out_shape, C, 3, 2, 1, tags=stem_tags), b.name)
        s0, s1 = (b.name, b.out_shape), (c.name, c.out_shape)
        reduction_prev = True
    c_curr = C
    for i in range(layers):
        reduction = i in (layers // 3, 2 * layers // 3)
        if reduction:
            c_curr *= 2
        ops, cat = (geno.reduce, geno.reduce_concat) if reduction else (geno.normal, geno.normal_concat)
        out = _cell(g, i, ops, cat, s0, s1, c_curr, reduction, reduction_prev)
        s0, s1 = s1, out
        reduction_prev = reduction
    gap = g.add(global_avgpool("global_pooling", s1[1], tags=_tags("head", "pool")), s1[0])
    g.add(linear("classifier", gap.out_shape, classes, bias=True, tags=_tags("head", "classifier")), gap.name)
    return g
