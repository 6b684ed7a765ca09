"""FBNet search-space networks (HW-NAS-Bench's version) as layer graphs.

Macro-architecture (Wu et al., CVPR 2019, Table 1; HW-NAS-Bench, ICLR 2021, Table 7 and its
`FBNet_Infer` / `fbnet_get_metrics` code): a 3×3 stem conv to 16 channels, 22 searchable blocks in seven
stages of (1, 4, 4, 4, 4, 4, 1) blocks with (16, 24, 32, 64, 112, 184, 352) output channels, where only a
stage's first block may change stride or channels, then a 1×1 "header" conv, global average pooling and a
linear classifier.

================  =========  ===========================  ===========  ==========
data set          input      stem stride / stage strides  header conv  classes
================  =========  ===========================  ===========  ==========
``imagenet``      224×224    2 / (1, 2, 2, 2, 1, 2, 1)    1984         1000
``cifar100``      32×32      1 / (1, 1, 2, 2, 1, 2, 1)    1504         100
================  =========  ===========================  ===========  ==========

(Table 7 of the paper prints the ImageNet fc input as 1504; its own code and FBNet use the 1984-channel
header, so the fc reads 1984 features.)

Blocks, as HW-NAS-Bench builds them (``kK_eE[_gG]``):

- an inverted residual: 1×1 expand conv C_in -> E·C_in with G groups, a depthwise K×K conv with the stage
  stride and padding K//2, a 1×1 project conv E·C_in -> C_out with G groups, and a residual add when
  C_in == C_out and the stride is 1. The expand conv is kept even for E=1 (HW-NAS-Bench does not drop it).
  With G=2 a channel shuffle follows the expand conv; it moves no arithmetic and has no layer here (its
  presence is recorded in the depthwise layer's ``shuffle`` tag).
- ``skip``: an identity when the shape is kept; otherwise a 1×1 conv (stride s, C_in -> C_out), which is
  an explicit conv layer.

BatchNorm and ReLU are fused into the convolutions and have no layer of their own.

Every layer carries tags a data-set builder needs to rebuild HW-NAS-Bench's per-block lookup tables:
``block`` (the exact HW-NAS-Bench table key, e.g. ``ConvBlock_H32_W32_Cin16_Cout24_exp6_kernel3_stride1_group1``,
``Skip_H..``, ``ConvNorm_H..``, ``AvgP_H..``, ``FC_Cin.._Cout..``), ``position`` (0..21 for searchable
blocks; ``stem``, ``header``, ``avgpool``, ``fc`` otherwise) and ``block_op`` (the block name).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Sequence

from .graph import LayerGraph, conv2d, elementwise, global_avgpool, linear
from .nasbench201 import _check_batch

#: The nine candidate blocks, in HW-NAS-Bench's index order (op index 0..8).
BLOCKS = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
BLOCK_INDEX = {name: i for i, name in enumerate(BLOCKS)}
#: block name -> (kernel, expansion, groups); `skip` has none.
BLOCK_SHAPES = {
    "k3_e1": (3, 1, 1), "k3_e1_g2": (3, 1, 2), "k3_e3": (3, 3, 1), "k3_e6": (3, 6, 1),
    "k5_e1": (5, 1, 1), "k5_e1_g2": (5, 1, 2), "k5_e3": (5, 3, 1), "k5_e6": (5, 6, 1),
}

NUM_POSITIONS = 22
STEM_CHANNELS = 16
STAGE_BLOCKS = (1, 4, 4, 4, 4, 4, 1)
STAGE_CHANNELS = (16, 24, 32, 64, 112, 184, 352)


@dataclass(frozen=True)
class Macro:
    """The per-data-set part of the macro-architecture."""

    resolution: int
    classes: int
    stem_stride: int
    stage_strides: tuple[int, ...]
    header_channels: int


DATASETS = {
    "cifar100": Macro(32, 100, 1, (1, 1, 2, 2, 1, 2, 1), 1504),
    "imagenet": Macro(224, 1000, 2, (1, 2, 2, 2, 1, 2, 1), 1984),
}
#: HW-NAS-Bench spells the ImageNet data set "ImageNet"; accepted as the same thing.
DATASET_ALIASES = {"ImageNet": "imagenet"}

#: (stage, index within stage) of each of the 22 positions.
POSITION_STAGE = tuple((s, i) for s, n in enumerate(STAGE_BLOCKS) for i in range(n))
assert len(POSITION_STAGE) == NUM_POSITIONS


def _token_to_index(token, position: int) -> int:
    """One position's block as an op index; `token` is an int index or a block name (or its digits)."""
    if isinstance(token, bool):
        raise ValueError(
            f"FBNet position {position}: block {token!r} is not a block index 0..8 or a name in {list(BLOCKS)}"
        )
    if isinstance(token, numbers.Integral):
        index = int(token)
        if not 0 <= index < len(BLOCKS):
            raise ValueError(
                f"FBNet position {position}: block index {index} is out of range; allowed 0..{len(BLOCKS) - 1} "
                f"({', '.join(f'{i}={n}' for i, n in enumerate(BLOCKS))})"
            )
        return index
    if isinstance(token, str):
        text = token.strip()
        if text in BLOCK_INDEX:
            return BLOCK_INDEX[text]
        if text.isascii() and text.isdigit():
            return _token_to_index(int(text), position)
        raise ValueError(
            f"FBNet position {position}: block {token!r} is not a block index 0..{len(BLOCKS) - 1} or a name in "
            f"{list(BLOCKS)}"
        )
    raise ValueError(
        f"FBNet position {position}: block {token!r} ({type(token).__name__}) is not a block index "
        f"0..{len(BLOCKS) - 1} or a name in {list(BLOCKS)}"
    )


def parse_ops(text: str) -> tuple[int, ...]:
    """The 22 op indices of a comma-separated list of block indices or names.

    ``"0,3,8,..."``, ``"k3_e1, k3_e6, skip, ..."`` or a mix; surrounding ``[...]`` (a printed Python list)
    and spaces are allowed.
    """
    if not isinstance(text, str):
        raise ValueError(f"FBNet op list must be a string here, got {type(text).__name__} {text!r}")
    body = text.strip()
    if body.startswith("[") and body.endswith("]"):
        body = body[1:-1]
    if not body.strip():
        raise ValueError(f"FBNet op list {text!r} is empty; expected {NUM_POSITIONS} comma-separated blocks")
    tokens = body.split(",")
    if len(tokens) != NUM_POSITIONS:
        raise ValueError(
            f"FBNet op list {text!r} has {len(tokens)} comma-separated entries; expected {NUM_POSITIONS} "
            f"(each an index 0..{len(BLOCKS) - 1} or a name in {list(BLOCKS)})"
        )
    for pos, tok in enumerate(tokens):
        if not tok.strip():
            raise ValueError(f"FBNet op list {text!r}: position {pos} is empty; expected an index or block name")
    return tuple(_token_to_index(tok, pos) for pos, tok in enumerate(tokens))


def op_indices(ops: str | Sequence) -> tuple[int, ...]:
    """`ops` (a string for `parse_ops`, or 22 indices / names) as a checked tuple of op indices."""
    if isinstance(ops, str):
        return parse_ops(ops)
    try:
        ops = list(ops)
    except TypeError:
        raise ValueError(
            f"FBNet ops must be a string or a sequence of {NUM_POSITIONS} block indices or names, got {ops!r}"
        ) from None
    if len(ops) != NUM_POSITIONS:
        raise ValueError(
            f"FBNet op list has {len(ops)} entries; expected {NUM_POSITIONS} (each an index 0..{len(BLOCKS) - 1} "
            f"or a name in {list(BLOCKS)})"
        )
    return tuple(_token_to_index(tok, pos) for pos, tok in enumerate(ops))


def canonical_dataset(dataset: str) -> str:
    if isinstance(dataset, str):
        dataset = DATASET_ALIASES.get(dataset, dataset)
        if dataset in DATASETS:
            return dataset
    raise ValueError(
        f"FBNet dataset {dataset!r} is not one of {list(DATASETS)} (HW-NAS-Bench's 'ImageNet' is accepted too)"
    )


# ---- HW-NAS-Bench lookup-table keys ------------------------------------------------------------

def convblock_key(hw: int, c_in: int, c_out: int, exp: int, kernel: int, stride: int, groups: int) -> str:
    return f"ConvBlock_H{hw}_W{hw}_Cin{c_in}_Cout{c_out}_exp{exp}_kernel{kernel}_stride{stride}_group{groups}"


def skip_key(hw: int, c_in: int, c_out: int, stride: int) -> str:
    return f"Skip_H{hw}_W{hw}_Cin{c_in}_Cout{c_out}_stride{stride}"


def convnorm_key(hw: int, c_in: int, c_out: int, kernel: int, stride: int) -> str:
    return f"ConvNorm_H{hw}_W{hw}_Cin{c_in}_Cout{c_out}_kernel{kernel}_stride{stride}_group1"


def avgpool_key(hw: int, channels: int) -> str:
    return f"AvgP_H{hw}_W{hw}_Cin{channels}_Cout{channels}_kernel{hw}_stride1"


def fc_key(c_in: int, c_out: int) -> str:
    return f"FC_Cin{c_in}_Cout{c_out}"


# ---- building ----------------------------------------------------------------------------------

def fbnet(ops: str | Sequence, dataset: str = "cifar100", batch: int = 1) -> LayerGraph:
    """The FBNet network of `ops` (22 block indices 0..8 or names, or a string for `parse_ops`)."""
    idx = op_indices(ops)
    dataset = canonical_dataset(dataset)
    batch = _check_batch(batch)
    macro = DATASETS[dataset]
    names = [BLOCKS[i] for i in idx]
    g = LayerGraph(
        f"fbnet:{','.join(map(str, idx))}", (batch, 3, macro.resolution, macro.resolution),
        meta={"space": "fbnet", "op_idx_list": list(idx), "arch_str": names, "dataset": dataset},
    )

    res = macro.resolution
    stem = g.add(conv2d("stem", g.input_shape, STEM_CHANNELS, 3, macro.stem_stride, 1, tags={
        "block": convnorm_key(res, 3, STEM_CHANNELS, 3, macro.stem_stride), "position": "stem", "block_op": "stem"}))
    src, shape = stem.name, stem.out_shape
    for pos, op in enumerate(names):
        stage, i = POSITION_STAGE[pos]
        stride = macro.stage_strides[stage] if i == 0 else 1
        src, shape = _block(g, pos, op, src, shape, STAGE_CHANNELS[stage], stride)

    hw = shape[2]
    header = g.add(conv2d("header", shape, macro.header_channels, 1, 1, 0, tags={
        "block": convnorm_key(hw, shape[1], macro.header_channels, 1, 1), "position": "header",
        "block_op": "header"}), src)
    gap = g.add(global_avgpool("avgpool", header.out_shape, tags={
        "block": avgpool_key(hw, macro.header_channels), "position": "avgpool", "block_op": "avgpool"}), header.name)
    g.add(linear("fc", gap.out_shape, macro.classes, bias=True, tags={
        "block": fc_key(macro.header_channels, macro.classes), "position": "fc", "block_op": "fc"}), gap.name)
    return g


def _block(g: LayerGraph, pos: int, op: str, src: str, shape, c_out: int, stride: int):
    """Add position `pos`'s block reading `src` (of `shape`); returns (output layer name, output shape)."""
    c_in, hw = shape[1], shape[2]
    prefix = f"b{pos:02d}.{op}"
    if op == "skip":
        tags = {"block": skip_key(hw, c_in, c_out, stride), "position": str(pos), "block_op": op}
        if stride == 1 and c_in == c_out:
            layer = g.add(elementwise(prefix, "identity", shape, tags=tags), src)
        else:
            layer = g.add(conv2d(f"{prefix}.conv", shape, c_out, 1, stride, 0, tags=tags), src)
        return layer.name, layer.out_shape

    kernel, exp, groups = BLOCK_SHAPES[op]
    tags = {"block": convblock_key(hw, c_in, c_out, exp, kernel, stride, groups), "position": str(pos),
            "block_op": op}
    mid = c_in * exp
    expand = g.add(conv2d(f"{prefix}.expand", shape, mid, 1, 1, 0, groups=groups, tags=tags), src)
    dw_tags = dict(tags, shuffle=str(groups)) if groups > 1 else tags
    dw = g.add(conv2d(f"{prefix}.dw", expand.out_shape, mid, kernel, stride, kernel // 2, groups=mid,
                      tags=dw_tags), expand.name)
    project = g.add(conv2d(f"{prefix}.project", dw.out_shape, c_out, 1, 1, 0, groups=groups, tags=tags), dw.name)
    if stride == 1 and c_in == c_out:
        add = g.add(elementwise(f"{prefix}.add", "add", project.out_shape, 2, tags=tags), [project.name, src])
        return add.name, add.out_shape
    return project.name, project.out_shape


def block_groups(g: LayerGraph) -> dict[str, list]:
    """HW-NAS-Bench block key -> the layers of `g` that make it up (in order); for per-block lookup tables.

    A key that occurs at several positions (same shapes, same block) maps to the layers of all of them;
    group by the ``position`` tag as well to split them.
    """
    out: dict[str, list] = {}
    for layer in g.layers:
        key = layer.tag("block")
        if key is None:
            raise ValueError(f"network {g.name!r}: layer {layer.name!r} has no 'block' tag (not an FBNet graph?)")
        out.setdefault(key, []).append(layer)
    return out
