"""Layers and layer graphs: the workload side of the one-way flow.

A `Layer` is one operator with exact shapes; a `LayerGraph` is a DAG of layers (networkx) whose edges
are tensors. Shapes are always (N, C, H, W); a fully connected layer sees (N, C, 1, 1).

Dimension names follow Timeloop: N batch, C input channels, K output channels, H/W input height/width,
P/Q output height/width, R/S kernel height/width.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

import networkx as nx
import numpy as np

#: Operators a layer may have, with what each means for costing.
OPS = {
    "conv2d": "2-D convolution; `groups` covers grouped and depthwise convolution",
    "linear": "fully connected layer on a (N, C, 1, 1) input",
    "avgpool": "k×k average pooling",
    "maxpool": "k×k max pooling",
    "global_avgpool": "average over the whole H×W plane",
    "add": "element-wise sum of two or more tensors of one shape",
    "scale": "channel-wise product of a tensor and a per-channel (N, C, 1, 1) vector (squeeze-and-excitation)",
    "concat": "channel-wise concatenation of two or more tensors of one plane (a memory layout: each producer "
              "writes its channels at an offset of one buffer; moves no data of its own)",
    "identity": "a tensor passed on unchanged (skip connection)",
    "zero": "an edge that contributes nothing (NAS-Bench-201 `none`; with stride s, DARTS' `Zero(s)`, whose "
            "output is the input plane subsampled by s)",
}

Shape = tuple[int, int, int, int]

#: Largest sizes a layer may have; a `Layer` outside them is refused with the bound in the message. The
#: mappers' searches grow with these sizes (Eyeriss enumerates the divisors of every loop bound, the generic
#: mapper tile sizes 1..D) and the Eyeriss kernel counts in int64, so unbounded sizes hang or overflow. Real
#: networks stay well inside: ImageNet CNNs at batch <= 1024 with <= 4096 channels and <= 1024 pixels a side,
#: VGG-16's widest FC input 25,088 features (100,352 at 448 px), the largest layer of this package's networks
#: 1.85 G MACs per image. Worst searches measured at the bounds: tens of seconds (README, Input validation).
MAX_BATCH = 1 << 16                 # 65,536 images
MAX_CHANNELS = 1 << 17              # 131,072 channels (FC: features)
MAX_SPATIAL = 1 << 14               # 16,384 pixels a side; kernel, stride and padding too
MAX_ADD_INPUTS = 1 << 10            # tensors one add sums (or one concat joins)
MAX_TENSOR_ELEMENTS = 1 << 48       # elements of one input or output tensor
MAX_LAYER_MACS = 1 << 50            # ~1.1e15 MACs in one layer (2^13 below int64's limit for the kernels' counts)
_DIM_NAMES = ("batch N", "channels C", "height H", "width W")
_DIM_LIMITS = (MAX_BATCH, MAX_CHANNELS, MAX_SPATIAL, MAX_SPATIAL)


def _int(value, what: str, owner: str) -> int:
    """`value` as a Python int: ints and numpy integers pass, bools, floats and the rest are refused."""
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    raise ValueError(f"{owner}: {what} must be an int, got {value!r} ({type(value).__name__})")


def _pair(value, field_name: str, layer_name: str) -> tuple[int, int]:
    """An int or a pair of ints, each >= 0 and <= MAX_SPATIAL (callers check the lower bound they need)."""
    owner = f"layer {layer_name!r}"
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_)):
        pair = (int(value), int(value))
    else:
        try:
            a, b = value
        except (TypeError, ValueError):
            raise ValueError(f"{owner}: {field_name} must be an int or a pair of ints, got {value!r}") from None
        if isinstance(value, (str, bytes)):
            raise ValueError(f"{owner}: {field_name} must be an int or a pair of ints, got {value!r}")
        pair = (_int(a, field_name, owner), _int(b, field_name, owner))
    if any(v > MAX_SPATIAL for v in pair):
        raise ValueError(f"{owner}: {field_name} {pair} exceeds {MAX_SPATIAL:,}, the largest size a side may have")
    return pair


def _check_shape(shape, field_name: str, layer_name: str, owner: str | None = None) -> Shape:
    """(N, C, H, W) as four Python ints, each >= 1 and within the MAX_* bounds."""
    owner = owner or f"layer {layer_name!r}"
    if isinstance(shape, (str, bytes)):
        raise ValueError(f"{owner}: {field_name} must be (N, C, H, W), got {shape!r}")
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(f"{owner}: {field_name} must be (N, C, H, W), got {shape!r}") from None
    if len(dims) != 4 or not all(isinstance(d, (numbers.Integral, np.integer)) and not isinstance(d, (bool, np.bool_))
                                 for d in dims):
        raise ValueError(f"{owner}: {field_name} must be four ints (N, C, H, W), got {shape!r}")
    dims = tuple(int(d) for d in dims)
    if any(d <= 0 for d in dims):
        raise ValueError(f"{owner}: {field_name} has a non-positive size {dims!r}; every dimension must be >= 1")
    for d, what, limit in zip(dims, _DIM_NAMES, _DIM_LIMITS):
        if d > limit:
            raise ValueError(f"{owner}: {field_name} {dims}: {what}={d:,} exceeds {limit:,}, the largest the "
                             "mappers' searches are bounded for")
    elements = dims[0] * dims[1] * dims[2] * dims[3]
    if elements > MAX_TENSOR_ELEMENTS:
        raise ValueError(f"{owner}: {field_name} {dims} has {elements:,} elements; a tensor may have at most "
                         f"{MAX_TENSOR_ELEMENTS:,} (2^48)")
    return dims  # type: ignore[return-value]


@dataclass(frozen=True)
class Layer:
    """One operator with exact input and output shapes.

    Build layers with the helpers below (`conv2d`, `linear`, `pool`, ...), which derive the output shape
    and check every argument; the constructor checks consistency of what it is given.
    """

    name: str
    op: str
    in_shape: Shape
    out_shape: Shape
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    groups: int = 1
    bias: bool = False
    #: Free-form tags, e.g. {"block": "ConvBlock_H32_W32_..."}; not part of the shape signature.
    tags: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    #: Spacing of a convolution's kernel taps (atrous convolution); a window spans dilation * (kernel - 1) + 1
    #: input rows / columns. conv2d only; 1 elsewhere.
    dilation: tuple[int, int] = (1, 1)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"layer name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.op, str) or self.op not in OPS:
            raise ValueError(f"layer {self.name!r}: op {self.op!r} is not one of {sorted(OPS)}")
        tags = tuple(sorted(self.tags.items())) if isinstance(self.tags, dict) else self.tags
        try:
            tags = tuple((k, v) for k, v in tags)
        except (TypeError, ValueError):
            raise ValueError(f"layer {self.name!r}: tags must be (key, value) string pairs, got {self.tags!r}") from None
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in tags):
            raise ValueError(f"layer {self.name!r}: tags must be (key, value) string pairs, got {self.tags!r}")
        object.__setattr__(self, "tags", tags)
        if not dict(tags).get("num_inputs", "1").isdigit():
            raise ValueError(f"layer {self.name!r}: tag num_inputs must be a count, got {dict(tags)['num_inputs']!r}")
        object.__setattr__(self, "in_shape", _check_shape(self.in_shape, "in_shape", self.name))
        object.__setattr__(self, "out_shape", _check_shape(self.out_shape, "out_shape", self.name))
        for fname in ("kernel", "stride", "padding", "dilation"):
            object.__setattr__(self, fname, _pair(getattr(self, fname), fname, self.name))
        if any(k <= 0 for k in self.kernel):
            raise ValueError(f"layer {self.name!r}: kernel {self.kernel} must be positive")
        if any(s <= 0 for s in self.stride):
            raise ValueError(f"layer {self.name!r}: stride {self.stride} must be positive")
        if any(p < 0 for p in self.padding):
            raise ValueError(f"layer {self.name!r}: padding {self.padding} must be >= 0")
        if any(not isinstance(d, int) or isinstance(d, bool) or d <= 0 for d in self.dilation):
            raise ValueError(f"layer {self.name!r}: dilation {self.dilation} must be positive ints")
        if self.dilation != (1, 1) and self.op != "conv2d":
            raise ValueError(f"layer {self.name!r}: dilation {self.dilation} applies to conv2d only, not {self.op}")
        if self.stride != (1, 1) and self.op in ("identity", "add", "scale", "concat", "linear", "global_avgpool"):
            raise ValueError(f"layer {self.name!r}: {self.op} has no stride, got {self.stride}")
        groups = _int(self.groups, "groups", f"layer {self.name!r}")
        if groups <= 0:
            raise ValueError(f"layer {self.name!r}: groups {self.groups!r} must be a positive int")
        object.__setattr__(self, "groups", groups)
        if not isinstance(self.bias, (bool, np.bool_)):
            raise ValueError(f"layer {self.name!r}: bias must be True or False, got {self.bias!r}")
        object.__setattr__(self, "bias", bool(self.bias))
        n, c, h, w = self.in_shape
        n2, k, p, q = self.out_shape
        if n != n2:
            raise ValueError(f"layer {self.name!r}: batch differs between in_shape {self.in_shape} and out_shape {self.out_shape}")
        if self.op in ("conv2d", "avgpool", "maxpool"):
            ext_r, ext_s = self.extent
            exp_p = (h + 2 * self.padding[0] - ext_r) // self.stride[0] + 1
            exp_q = (w + 2 * self.padding[1] - ext_s) // self.stride[1] + 1
            if (p, q) != (exp_p, exp_q):
                dil = f", dilation {self.dilation}" if self.dilation != (1, 1) else ""
                raise ValueError(
                    f"layer {self.name!r}: output plane {(p, q)} does not match input {(h, w)} with kernel "
                    f"{self.kernel}, stride {self.stride}, padding {self.padding}{dil} (expected {(exp_p, exp_q)})"
                )
        if self.op == "conv2d":
            if c % self.groups or k % self.groups:
                raise ValueError(
                    f"layer {self.name!r}: groups={self.groups} must divide in channels {c} and out channels {k}"
                )
        elif self.op in ("avgpool", "maxpool", "global_avgpool", "identity", "zero", "add", "scale", "concat"):
            if k != c:
                raise ValueError(f"layer {self.name!r}: {self.op} keeps channels, but in {c} != out {k}")
            if self.op == "global_avgpool" and (p, q) != (1, 1):
                raise ValueError(f"layer {self.name!r}: global_avgpool outputs 1×1, got {(p, q)}")
            if self.op in ("identity", "add", "scale", "concat") and (h, w) != (p, q):
                raise ValueError(f"layer {self.name!r}: {self.op} keeps the plane, but in {(h, w)} != out {(p, q)}")
            if self.op == "zero":
                exp = (-(-h // self.stride[0]), -(-w // self.stride[1]))
                if (p, q) != exp:
                    raise ValueError(f"layer {self.name!r}: zero with stride {self.stride} maps plane {(h, w)} to "
                                     f"{exp}, got {(p, q)}")
            if self.op in ("add", "concat") and self.num_inputs < 2:
                raise ValueError(f"layer {self.name!r}: {self.op} needs >= 2 inputs, got {self.num_inputs}")
            if self.op == "concat":
                parts = dict(self.tags).get("concat_channels")
                split = [int(x) for x in parts.split(",")] if parts else []
                if len(split) != self.num_inputs or sum(split) != c or min(split) <= 0:
                    raise ValueError(f"layer {self.name!r}: concat of {self.num_inputs} inputs needs a "
                                     f"'concat_channels' tag of {self.num_inputs} positive channel counts summing to "
                                     f"{c}, got {parts!r} (build it with graph.concat)")
        elif self.op == "linear":
            if (h, w, p, q) != (1, 1, 1, 1):
                raise ValueError(f"layer {self.name!r}: linear works on (N, C, 1, 1) tensors, got {self.in_shape} -> {self.out_shape}")
        if self.op in ("add", "concat") and self.num_inputs > MAX_ADD_INPUTS:
            raise ValueError(f"layer {self.name!r}: {self.op} of {self.num_inputs} inputs; allowed 2..{MAX_ADD_INPUTS:,}")
        if self.macs > MAX_LAYER_MACS:
            raise ValueError(f"layer {self.name!r}: {self.macs:,} MACs exceed {MAX_LAYER_MACS:,} (2^50), the most one "
                             "layer may have (the mappers count in 64-bit integers)")

    # ---- Timeloop-style dimension names -------------------------------------------------------
    @property
    def N(self) -> int: return self.in_shape[0]
    @property
    def C(self) -> int: return self.in_shape[1]
    @property
    def H(self) -> int: return self.in_shape[2]
    @property
    def W(self) -> int: return self.in_shape[3]
    @property
    def K(self) -> int: return self.out_shape[1]
    @property
    def P(self) -> int: return self.out_shape[2]
    @property
    def Q(self) -> int: return self.out_shape[3]
    @property
    def R(self) -> int: return self.kernel[0]
    @property
    def S(self) -> int: return self.kernel[1]

    @property
    def extent(self) -> tuple[int, int]:
        """Input rows and columns one window spans: dilation * (kernel - 1) + 1 (the kernel when undilated)."""
        return (self.dilation[0] * (self.kernel[0] - 1) + 1, self.dilation[1] * (self.kernel[1] - 1) + 1)

    @property
    def is_depthwise(self) -> bool:
        return self.op == "conv2d" and self.groups == self.C and self.groups == self.K and self.groups > 1

    @property
    def type(self) -> str:
        """Coarse type for reports: conv2d, conv2d_depthwise, conv2d_grouped, fc, pool, add, concat, identity, zero."""
        if self.op == "conv2d":
            if self.groups == 1:
                return "conv2d"
            return "conv2d_depthwise" if self.is_depthwise else "conv2d_grouped"
        if self.op == "linear":
            return "fc"
        if self.op in ("avgpool", "maxpool", "global_avgpool"):
            return "pool"
        return self.op

    # ---- derived costs ------------------------------------------------------------------------
    @property
    def macs(self) -> int:
        """Multiply-accumulates (convolution and FC only; pooling and adds are not MACs)."""
        if self.op == "conv2d":
            return self.N * self.K * self.P * self.Q * (self.C // self.groups) * self.R * self.S
        if self.op == "linear":
            return self.N * self.K * self.C
        return 0

    @property
    def window_ops(self) -> int:
        """Element operations of a pooling or add layer (window reads per output; inputs summed for add)."""
        if self.op in ("avgpool", "maxpool"):
            return self.N * self.K * self.P * self.Q * self.R * self.S
        if self.op == "global_avgpool":
            return self.N * self.C * self.H * self.W
        if self.op == "add":
            return self.output_elements * max(1, self.num_inputs - 1)
        if self.op == "scale":
            return self.output_elements
        return 0

    @property
    def params(self) -> int:
        if self.op == "conv2d":
            return self.K * (self.C // self.groups) * self.R * self.S + (self.K if self.bias else 0)
        if self.op == "linear":
            return self.K * self.C + (self.K if self.bias else 0)
        return 0

    @property
    def num_inputs(self) -> int:
        return int(dict(self.tags).get("num_inputs", "1"))

    @property
    def concat_channels(self) -> tuple[int, ...]:
        """Channels of each input of a concat layer, in order (its in_shape is the assembled tensor)."""
        return tuple(int(c) for c in dict(self.tags)["concat_channels"].split(","))

    @property
    def input_elements(self) -> int:
        n, c, h, w = self.in_shape
        if self.op == "scale":
            return n * c * h * w + n * c      # the map and its per-channel factors
        return n * c * h * w * (self.num_inputs if self.op == "add" else 1)

    @property
    def output_elements(self) -> int:
        n, k, p, q = self.out_shape
        return n * k * p * q

    @property
    def signature(self) -> tuple:
        """Hashable key of everything that determines the layer's cost (not its name or tags)."""
        return (
            self.op, *self.in_shape, *self.out_shape, *self.kernel, *self.stride, *self.padding,
            self.groups, self.num_inputs, *self.dilation,
        )

    def tag(self, key: str, default: str | None = None) -> str | None:
        return dict(self.tags).get(key, default)

    def __str__(self) -> str:
        extra = ""
        if self.op in ("conv2d", "avgpool", "maxpool"):
            extra = f" k{self.R}x{self.S} s{self.stride[0]} p{self.padding[0]}"
            if self.groups > 1:
                extra += f" g{self.groups}"
            if self.dilation != (1, 1):
                extra += f" d{self.dilation[0]}"
        return f"{self.name}: {self.type} {self.in_shape}->{self.out_shape}{extra}"


# ---- constructors that derive output shapes ----------------------------------------------------

def _out_plane(h: int, w: int, kernel, stride, padding, name: str, dilation=(1, 1)) -> tuple[int, int]:
    if any(k <= 0 for k in kernel) or any(s <= 0 for s in stride):
        raise ValueError(f"layer {name!r}: kernel {kernel} and stride {stride} must be positive")
    ext = (dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1)
    p = (h + 2 * padding[0] - ext[0]) // stride[0] + 1
    q = (w + 2 * padding[1] - ext[1]) // stride[1] + 1
    if p <= 0 or q <= 0:
        dil = f", dilation {dilation}" if tuple(dilation) != (1, 1) else ""
        raise ValueError(
            f"layer {name!r}: kernel {kernel} with stride {stride}, padding {padding}{dil} does not fit the "
            f"{h}x{w} input"
        )
    return p, q


def conv2d(name: str, in_shape: Sequence[int], out_channels: int, kernel=1, stride=1, padding=None,
           groups: int = 1, bias: bool = False, tags: dict | None = None, dilation=1) -> Layer:
    """A convolution; `padding=None` means 'same' padding (dilation * (kernel // 2)). `dilation` spaces the
    kernel taps (atrous convolution): same MACs as the undilated kernel, a wider window."""
    in_shape = _check_shape(in_shape, "in_shape", name)
    kernel = _pair(kernel, "kernel", name)
    stride = _pair(stride, "stride", name)
    dilation = _pair(dilation, "dilation", name)
    if any(not isinstance(d, int) or isinstance(d, bool) or d <= 0 for d in dilation):
        raise ValueError(f"layer {name!r}: dilation {dilation} must be positive ints")
    padding = ((dilation[0] * (kernel[0] // 2), dilation[1] * (kernel[1] // 2)) if padding is None
               else _pair(padding, "padding", name))
    out_channels = _int(out_channels, "out_channels", f"layer {name!r}")
    if out_channels <= 0:
        raise ValueError(f"layer {name!r}: out_channels must be a positive int, got {out_channels!r}")
    p, q = _out_plane(in_shape[2], in_shape[3], kernel, stride, padding, name, dilation)
    return Layer(name, "conv2d", in_shape, (in_shape[0], out_channels, p, q), kernel, stride, padding, groups,
                 bias, tuple(sorted((tags or {}).items())), dilation)


def linear(name: str, in_shape: Sequence[int], out_features: int, bias: bool = True,
           tags: dict | None = None) -> Layer:
    in_shape = _check_shape(in_shape, "in_shape", name)
    n, c, h, w = in_shape
    flat = (n, c * h * w, 1, 1)
    out_features = _int(out_features, "out_features", f"layer {name!r}")
    if out_features <= 0:
        raise ValueError(f"layer {name!r}: out_features must be a positive int, got {out_features!r}")
    return Layer(name, "linear", flat, (n, out_features, 1, 1), bias=bias, tags=tuple(sorted((tags or {}).items())))


def pool(name: str, in_shape: Sequence[int], kind: str = "avg", kernel=3, stride=1, padding=None,
         tags: dict | None = None) -> Layer:
    if not isinstance(kind, str) or kind not in ("avg", "max"):
        raise ValueError(f"layer {name!r}: pool kind {kind!r} is not one of ['avg', 'max']")
    in_shape = _check_shape(in_shape, "in_shape", name)
    kernel = _pair(kernel, "kernel", name)
    stride = _pair(stride, "stride", name)
    padding = (kernel[0] // 2, kernel[1] // 2) if padding is None else _pair(padding, "padding", name)
    p, q = _out_plane(in_shape[2], in_shape[3], kernel, stride, padding, name)
    return Layer(name, f"{kind}pool", in_shape, (in_shape[0], in_shape[1], p, q), kernel, stride, padding,
                 tags=tuple(sorted((tags or {}).items())))


def global_avgpool(name: str, in_shape: Sequence[int], tags: dict | None = None) -> Layer:
    in_shape = _check_shape(in_shape, "in_shape", name)
    n, c, h, w = in_shape
    return Layer(name, "global_avgpool", in_shape, (n, c, 1, 1), kernel=(h, w),
                 tags=tuple(sorted((tags or {}).items())))


def elementwise(name: str, op: str, shape: Sequence[int], num_inputs: int = 1, tags: dict | None = None,
                stride=1) -> Layer:
    """An `add`, `identity` or `zero` layer on one tensor shape. A `zero` layer may take a `stride` (DARTS'
    strided `none` edge): its output is the plane subsampled by it, ceil(H / stride) x ceil(W / stride)."""
    if not isinstance(op, str) or op not in ("add", "identity", "zero"):
        raise ValueError(f"layer {name!r}: elementwise op {op!r} is not one of ['add', 'identity', 'zero']")
    shape = _check_shape(shape, "shape", name)
    stride = _pair(stride, "stride", name)
    if stride != (1, 1) and op != "zero":
        raise ValueError(f"layer {name!r}: only a zero layer takes a stride, {op} got {stride}")
    if any(not isinstance(s, int) or s <= 0 for s in stride):
        raise ValueError(f"layer {name!r}: stride {stride} must be positive ints")
    t = dict(tags or {})
    if op == "add":
        num_inputs = _int(num_inputs, "num_inputs", f"layer {name!r}")
        if not 2 <= num_inputs <= MAX_ADD_INPUTS:
            raise ValueError(f"layer {name!r}: add needs 2..{MAX_ADD_INPUTS:,} inputs, got {num_inputs}")
        t["num_inputs"] = str(num_inputs)
    n, c, h, w = shape
    out = (n, c, -(-h // stride[0]), -(-w // stride[1]))
    return Layer(name, op, shape, out, stride=stride, tags=tuple(sorted(t.items())))


def scale(name: str, shape: Sequence[int], tags: dict | None = None) -> Layer:
    """A channel-wise product of a tensor of `shape` (its first input) and a (N, C, 1, 1) vector (its second
    input), as squeeze-and-excitation applies its gates."""
    shape = _check_shape(shape, "shape", name)
    t = dict(tags or {})
    t["num_inputs"] = "2"
    return Layer(name, "scale", shape, shape, tags=tuple(sorted(t.items())))


def concat(name: str, shapes: Sequence[Sequence[int]], tags: dict | None = None) -> Layer:
    """A channel-wise concatenation of tensors of one batch and plane, in the order given. Its in_shape and
    out_shape are the assembled tensor (channels summed)."""
    shapes = [_check_shape(s, f"shapes[{i}]", name) for i, s in enumerate(shapes)]
    if len(shapes) < 2:
        raise ValueError(f"layer {name!r}: concat needs >= 2 inputs, got {len(shapes)}")
    n, _, h, w = shapes[0]
    for i, s in enumerate(shapes):
        if (s[0], s[2], s[3]) != (n, h, w):
            raise ValueError(f"layer {name!r}: concat input {i} has shape {s}; every input must have batch {n} "
                             f"and plane {(h, w)} (shapes {shapes})")
    t = dict(tags or {})
    t["num_inputs"] = str(len(shapes))
    t["concat_channels"] = ",".join(str(s[1]) for s in shapes)
    out = (n, sum(s[1] for s in shapes), h, w)
    return Layer(name, "concat", out, out, tags=tuple(sorted(t.items())))


# ---- the graph ---------------------------------------------------------------------------------

#: Values of ``LayerGraph.meta["space"]``: where a network comes from (specs may key conventions on it).
WORKLOAD_SPACES = ("nasbench201", "fbnet", "darts", "classic", "onnx")


class LayerGraph:
    """A network as a DAG of layers on a `networkx.DiGraph`.

    Nodes are layer names with the `Layer` under the attribute ``layer``; an edge u→v carries u's output
    tensor into v. Layers without predecessors read the network input. `layers` yields layers in a
    topological order that keeps insertion order among independent layers, so reports are stable.
    """

    def __init__(self, name: str, input_shape: Sequence[int], meta: dict | None = None):
        self.name = name
        if not isinstance(name, str) or not name:
            raise ValueError(f"network name must be a non-empty string, got {name!r}")
        self.input_shape: Shape = _check_shape(input_shape, "input_shape", name, owner=f"network {name!r}")
        self.meta = dict(meta or {})
        self.graph = nx.DiGraph(name=name)
        self._order: dict[str, int] = {}

    # building ------------------------------------------------------------------------------------
    def add(self, layer: Layer, inputs: Iterable[str] | str | None = ()) -> Layer:
        """Add `layer`, fed by the layers named in `inputs` (none: the network input). Shapes are checked."""
        if not isinstance(layer, Layer):
            raise TypeError(f"LayerGraph.add takes a Layer, got {type(layer).__name__}")
        if layer.name in self.graph:
            raise ValueError(f"network {self.name!r}: a layer named {layer.name!r} exists already")
        inputs = [inputs] if isinstance(inputs, str) else list(inputs or ())
        for src in inputs:
            if src not in self.graph:
                raise ValueError(f"network {self.name!r}: layer {layer.name!r} reads unknown layer {src!r}")
        expected = [self.graph.nodes[s]["layer"].out_shape for s in inputs] or [self.input_shape]
        if layer.op == "concat":
            if len(inputs) != layer.num_inputs:
                raise ValueError(f"network {self.name!r}: concat {layer.name!r} declares {layer.num_inputs} inputs, wired {len(inputs)}")
            for s, shp, ch in zip(inputs, expected, layer.concat_channels):
                want = (layer.N, ch, layer.H, layer.W)
                if shp != want:
                    raise ValueError(f"network {self.name!r}: concat {layer.name!r} input {s!r} has shape {shp}, expected {want}")
        elif layer.op == "scale":
            want = [layer.in_shape, (layer.N, layer.C, 1, 1)]
            if len(inputs) != 2 or list(expected) != want:
                raise ValueError(f"network {self.name!r}: scale {layer.name!r} takes a map {want[0]} and per-channel "
                                 f"factors {want[1]}; wired {list(zip(inputs, expected))}")
        elif layer.op == "add":
            if len(inputs) != layer.num_inputs:
                raise ValueError(f"network {self.name!r}: add {layer.name!r} declares {layer.num_inputs} inputs, wired {len(inputs)}")
            for s, shp in zip(inputs, expected):
                if shp != layer.in_shape:
                    raise ValueError(f"network {self.name!r}: add {layer.name!r} input {s!r} has shape {shp}, expected {layer.in_shape}")
        else:
            if len(expected) != 1:
                raise ValueError(f"network {self.name!r}: {layer.op} {layer.name!r} takes one input, wired {len(inputs)}")
            src_shape = expected[0]
            want = layer.in_shape
            if layer.op == "linear":
                n, c, h, w = src_shape
                src_shape = (n, c * h * w, 1, 1)
            if src_shape != want:
                raise ValueError(
                    f"network {self.name!r}: layer {layer.name!r} expects input {want}, but "
                    f"{inputs[0] if inputs else 'the network input'} gives {expected[0]}"
                )
        self.graph.add_node(layer.name, layer=layer)
        self._order[layer.name] = len(self._order)
        for src in inputs:
            self.graph.add_edge(src, layer.name)
        return layer

    # reading -------------------------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        order = nx.lexicographical_topological_sort(self.graph, key=self._order.__getitem__)
        return [self.graph.nodes[n]["layer"] for n in order]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return self.graph.number_of_nodes()

    def __getitem__(self, name: str) -> Layer:
        return self.graph.nodes[name]["layer"]

    def predecessors(self, name: str) -> list[str]:
        return sorted(self.graph.predecessors(name), key=self._order.__getitem__)

    @property
    def output_layers(self) -> list[Layer]:
        return [l for l in self.layers if self.graph.out_degree(l.name) == 0]

    @property
    def batch(self) -> int:
        return self.input_shape[0]

    @property
    def macs(self) -> int:
        return sum(l.macs for l in self.layers)

    @property
    def params(self) -> int:
        return sum(l.params for l in self.layers)

    def unique_layers(self) -> dict[tuple, tuple[Layer, int]]:
        """Shape signature -> (first layer with it, how many layers share it)."""
        out: dict[tuple, list] = {}
        for l in self.layers:
            entry = out.setdefault(l.signature, [l, 0])
            entry[1] += 1
        return {k: (v[0], v[1]) for k, v in out.items()}

    def summary(self):
        """A pandas DataFrame, one row per layer: shapes, kernel, stride, groups, MACs, params."""
        import pandas as pd

        rows = [{
            "name": l.name, "type": l.type, "in_shape": l.in_shape, "out_shape": l.out_shape,
            "kernel": f"{l.R}x{l.S}" if l.op in ("conv2d", "avgpool", "maxpool") else "",
            "stride": l.stride[0], "groups": l.groups, "dilation": l.dilation[0], "macs": l.macs, "params": l.params,
        } for l in self.layers]
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return f"LayerGraph({self.name!r}, {len(self)} layers, {self.macs / 1e6:.1f} M MACs, input {self.input_shape})"
