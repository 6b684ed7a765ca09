"""Import a CNN from an ONNX file as a layer graph (needs the optional `onnx` package: ``pip install accelmodel[onnx]``).

Supported operators and what they become:

- ``Conv`` (2-D; groups, pads, strides, auto_pad) -> conv2d; ``Gemm`` and ``MatMul`` with a 2-D constant
  weight -> linear; ``MaxPool``/``AveragePool`` -> maxpool/avgpool; ``GlobalAveragePool`` -> global_avgpool;
  ``Add``/``Sum`` of activations of one shape -> add.
- Folded into their producer, no layer: ``Relu``, ``LeakyRelu``, ``Clip`` (ReLU6), ``BatchNormalization``,
  ``Identity``, ``Dropout``, an ``Add`` of a constant right after Conv/Gemm/MatMul (a bias), and the
  ``Flatten``/``Reshape``/``Squeeze`` that turn an (N, C, H, W) tensor into (N, C·H·W) before a fully
  connected layer.
- Nodes that compute only on constants and tensor shapes (``Constant``, ``Shape`` -> ``Gather`` -> ``Concat``
  chains that feed a ``Reshape``) move no activations and are dropped.

Shapes come from ONNX shape inference and weight shapes from the initializers; every layer's output shape is
checked against the inferred one. The model's own batch size (fixed or symbolic) is replaced by `batch`.
Anything else raises one `ValueError` that lists every unsupported node type with its count (and every
unsupported use of a supported type), rather than stopping at the first.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import replace

from .graph import Layer, LayerGraph, conv2d, elementwise, global_avgpool, linear, pool

#: ONNX op types that become a layer.
LAYER_OPS = {"Conv", "Gemm", "MatMul", "MaxPool", "AveragePool", "GlobalAveragePool", "Add", "Sum"}
#: Element-wise ops folded into their producer (they pass the tensor on with its shape).
FOLDED_OPS = {"Relu", "LeakyRelu", "Clip", "BatchNormalization", "Identity", "Dropout"}
#: Shape changes accepted only as a flatten before a fully connected layer.
FLATTEN_OPS = {"Flatten", "Reshape", "Squeeze"}
SUPPORTED_OPS = LAYER_OPS | FOLDED_OPS | FLATTEN_OPS | {"Constant"}


def _import_onnx():
    try:
        import onnx
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ImportError("from_onnx needs the 'onnx' package: pip install 'accelmodel[onnx]'") from None
    return onnx


class _Unsupported(Exception):
    """A supported op type used in a way accelmodel cannot represent (collected, reported together)."""


def from_onnx(path, batch: int = 1) -> LayerGraph:
    """The network in the ONNX file `path` (or an in-memory `onnx.ModelProto`) as a LayerGraph at `batch`."""
    onnx = _import_onnx()
    from .nasbench201 import _check_batch

    batch = _check_batch(batch)
    if isinstance(path, onnx.ModelProto):
        model, source = onnx.ModelProto(), "<ModelProto>"
        model.CopyFrom(path)  # the batch dimension gets fixed in place
    else:
        if not isinstance(path, (str, os.PathLike)):
            raise ValueError(f"from_onnx takes a path or an onnx.ModelProto, got {path!r} ({type(path).__name__})")
        source = os.fspath(path)
        if not os.path.exists(source):
            raise FileNotFoundError(f"ONNX file {source!r} does not exist")
        try:
            model = onnx.load(source)
        except Exception as exc:  # protobuf raises several types for a corrupt file
            raise ValueError(f"ONNX file {source!r} could not be read: {exc}") from exc
    return _Importer(onnx, model, source, batch).build()


class _Importer:
    def __init__(self, onnx, model, source: str, batch: int):
        self.onnx = onnx
        self.source = source
        self.batch = batch
        graph = model.graph
        self.constants: dict[str, tuple] = {init.name: tuple(init.dims) for init in graph.initializer}
        self.constant_values = {init.name: init for init in graph.initializer}
        inputs = [i for i in graph.input if i.name not in self.constants]
        if len(inputs) != 1:
            raise ValueError(
                f"ONNX model {source!r} has {len(inputs)} non-constant inputs {[i.name for i in inputs]}; "
                "accelmodel imports single-input networks"
            )
        self.input = inputs[0]
        self.model_batch = self._prepare_batch(model)
        try:
            inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
        except Exception as exc:
            raise ValueError(f"ONNX model {source!r}: shape inference failed: {exc}") from exc
        self.shapes: dict[str, tuple] = {}
        for vi in (*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output):
            shape = self._static_shape(vi)
            if shape is not None:
                self.shapes[vi.name] = shape
        self.nodes = list(inferred.graph.node)
        self.graph_name = graph.name or os.path.splitext(os.path.basename(source))[0] or "onnx"
        self.meta = {"space": "onnx", "source": source, "producer": model.producer_name,
                     "opset": max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)}

    # ---- shapes ----------------------------------------------------------------------------------
    def _prepare_batch(self, model) -> int:
        """Fix a symbolic batch dimension to 1 for inference; return the model's batch size."""
        dims = self.input.type.tensor_type.shape.dim
        if len(dims) not in (2, 4):
            raise ValueError(
                f"ONNX model {self.source!r}: input {self.input.name!r} has rank {len(dims)}; expected (N, C, H, W) "
                "or (N, C)"
            )
        for axis, d in enumerate(dims):
            if axis > 0 and not d.HasField("dim_value"):
                raise ValueError(
                    f"ONNX model {self.source!r}: input {self.input.name!r} axis {axis} is symbolic "
                    f"({d.dim_param or '?'}); export the model with a fixed input size"
                )
        if dims[0].HasField("dim_value"):
            return dims[0].dim_value
        for graph_input in model.graph.input:
            if graph_input.name == self.input.name:
                graph_input.type.tensor_type.shape.dim[0].dim_value = 1
        return 1

    @staticmethod
    def _static_shape(value_info):
        t = value_info.type.tensor_type
        if not t.HasField("shape"):
            return None
        dims = []
        for d in t.shape.dim:
            if not d.HasField("dim_value"):
                return None
            dims.append(d.dim_value)
        return tuple(dims)

    def _act_shape(self, tensor: str) -> tuple:
        """Inferred shape of activation `tensor` with the model's batch replaced by ours."""
        if tensor not in self.shapes:
            raise _Unsupported(f"shape inference gave no static shape for tensor {tensor!r}")
        shape = self.shapes[tensor]
        if not shape or shape[0] != self.model_batch:
            raise _Unsupported(f"tensor {tensor!r} of shape {shape} does not lead with the batch dimension")
        return (self.batch, *shape[1:])

    def _weight_shape(self, tensor: str) -> tuple:
        if tensor in self.constants:
            return self.constants[tensor]
        raise _Unsupported(f"weight {tensor!r} is not a constant (initializer or Constant node)")

    # ---- building --------------------------------------------------------------------------------
    def build(self) -> LayerGraph:
        unsupported_types: Counter = Counter()
        problems: list[str] = []

        in_dims = self.shapes.get(self.input.name) or tuple(d.dim_value for d in self.input.type.tensor_type.shape.dim)
        in_shape = (self.batch, *in_dims[1:]) + (1,) * (4 - len(in_dims))
        self.g = LayerGraph(self.graph_name, in_shape, meta=self.meta)
        # tensor -> producing layer name (None: the network input); flattened tensors keep their producer.
        self.src: dict[str, str | None] = {self.input.name: None}
        self.rank2: set[str] = {self.input.name} if len(in_dims) == 2 else set()
        poisoned: set[str] = set()
        self.used_names: set[str] = set()

        for i, node in enumerate(self.nodes):
            inputs = [t for t in node.input if t]
            if node.op_type == "Constant":
                value = self._attrs(node).get("value")
                dims = tuple(value.dims) if value is not None and hasattr(value, "dims") else ()
                self.constants[node.output[0]] = self.shapes.get(node.output[0], dims)
                continue
            if not inputs or all(t in self.constants for t in inputs):
                # Arithmetic on constants and shapes only: no activation moves.
                for out in node.output:
                    self.constants[out] = self.shapes.get(out, ())
                continue
            if node.op_type in ("Shape", "Size"):
                for out in node.output:
                    self.constants[out] = self.shapes.get(out, ())
                continue
            label = self._label(node, i)
            op_type = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
            if op_type not in SUPPORTED_OPS:
                unsupported_types[op_type] += 1
                poisoned.update(node.output)
                continue
            if any(t in poisoned for t in inputs):
                poisoned.update(node.output)  # downstream of a problem already reported
                continue
            try:
                self._node(node, label, inputs)
            except (_Unsupported, ValueError) as exc:  # ValueError: a layer constructor refused a size
                problems.append(f"{node.op_type} node {label!r}: {exc}")
                poisoned.update(node.output)

        if unsupported_types or problems:
            lines = [f"ONNX model {self.source!r} cannot be imported:"]
            if unsupported_types:
                lines.append("unsupported node types (count): " + ", ".join(
                    f"{t} ({c})" for t, c in sorted(unsupported_types.items())))
            lines += problems
            lines.append(f"supported: {sorted(SUPPORTED_OPS)}")
            raise ValueError("\n".join(lines))
        if not len(self.g):
            raise ValueError(f"ONNX model {self.source!r} has no layers")
        return self.g

    def _label(self, node, index: int) -> str:
        base = node.name or f"{node.op_type}_{index}"
        name, k = base, 1
        while name in self.used_names:
            k += 1
            name = f"{base}_{k}"
        self.used_names.add(name)
        return name

    def _attrs(self, node) -> dict:
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    def _source(self, tensor: str) -> str | None:
        if tensor not in self.src:
            raise _Unsupported(f"input {tensor!r} is neither the network input nor an activation")
        return self.src[tensor]

    def _src_shape(self, tensor: str) -> tuple:
        """4-D shape of what the producer of `tensor` outputs."""
        producer = self._source(tensor)
        return self.g.input_shape if producer is None else self.g[producer].out_shape

    def _wire(self, tensor: str) -> list[str]:
        producer = self._source(tensor)
        return [] if producer is None else [producer]

    def _add_layer(self, layer: Layer, inputs: list[str], out_tensor: str) -> None:
        if out_tensor in self.shapes:
            want = self._act_shape(out_tensor)
            got = layer.out_shape[: len(want)] if len(want) == 4 else (layer.out_shape[0], layer.out_shape[1])
            if tuple(got) != tuple(want):
                raise _Unsupported(f"accelmodel derives output shape {layer.out_shape}, ONNX infers {want}")
        try:
            self.g.add(layer, inputs)
        except ValueError as exc:
            raise _Unsupported(str(exc)) from None
        self.src[out_tensor] = layer.name

    def _node(self, node, label: str, inputs: list[str]) -> None:
        op = node.op_type
        attrs = self._attrs(node)
        out = node.output[0]
        if op in FOLDED_OPS:
            self._fold(inputs[0], out)
            if op == "Dropout" and len(node.output) > 1 and node.output[1]:
                self.constants[node.output[1]] = ()  # the mask: not an activation anyone costs
        elif op in FLATTEN_OPS:
            self._flatten(node, attrs, inputs[0], out)
        elif op == "Conv":
            self._conv(node, label, attrs, inputs, out)
        elif op in ("MaxPool", "AveragePool"):
            self._pool(op, label, attrs, inputs[0], out)
        elif op == "GlobalAveragePool":
            shape = self._require_4d(inputs[0])
            self._add_layer(global_avgpool(label, shape), self._wire(inputs[0]), out)
        elif op == "Gemm":
            self._gemm(label, attrs, inputs, out)
        elif op == "MatMul":
            self._matmul(label, inputs, out)
        elif op in ("Add", "Sum"):
            self._add(op, label, inputs, out)

    def _fold(self, tensor: str, out: str) -> None:
        self.src[out] = self._source(tensor)
        if tensor in self.rank2:
            self.rank2.add(out)

    def _require_4d(self, tensor: str) -> tuple:
        if tensor in self.rank2:
            raise _Unsupported(f"input {tensor!r} is 2-D; a 4-D (N, C, H, W) tensor is needed")
        return self._src_shape(tensor)

    def _flatten(self, node, attrs, tensor: str, out: str) -> None:
        shape = self._act_shape(out)
        src = self._src_shape(tensor)
        flat = src[1] * src[2] * src[3]
        if len(shape) == 2 and shape[1] == flat and attrs.get("axis", 1) == 1:
            self.src[out] = self._source(tensor)
            self.rank2.add(out)
        elif len(shape) == 4 and tuple(shape) == tuple(src) and tensor not in self.rank2:
            self._fold(tensor, out)
        else:
            raise _Unsupported(f"only a flatten (N, C, H, W) -> (N, C*H*W) before a fully connected layer is "
                               f"supported; this gives {shape}")

    @staticmethod
    def _fit_padding(in_hw, out_hw, kernel, stride, attrs) -> tuple[int, int]:
        """Symmetric padding reproducing `out_hw`: the model's own where it is symmetric and consistent,
        else the smallest that gives the same plane (ONNX allows asymmetric pads and ceil mode; the cost
        depends on the output plane)."""
        onnx_pads = tuple(attrs.get("pads", (0, 0, 0, 0)))
        pads = []
        for axis, (h, p_out, k, s) in enumerate(zip(in_hw, out_hw, kernel, stride)):
            own = [onnx_pads[axis]] if onnx_pads[axis] == onnx_pads[axis + 2] else []
            for pad in own + list(range(0, k + 1)):
                if (h + 2 * pad - k) // s + 1 == p_out:
                    pads.append(pad)
                    break
            else:
                raise _Unsupported(f"no symmetric padding gives output {out_hw} from {in_hw} with kernel {kernel}, "
                                   f"stride {stride}")
        return tuple(pads)

    @staticmethod
    def _ints(attrs, name: str, count: int, minimum: int, default=None) -> tuple:
        """Attribute `name` as `count` ints >= `minimum` (`default` when absent; None: it is required)."""
        if name not in attrs:
            if default is None:
                raise _Unsupported(f"attribute {name!r} is missing (it is required here)")
            return tuple(default)
        values = attrs[name]
        if (not isinstance(values, (list, tuple)) or len(values) != count
                or not all(isinstance(v, int) and v >= minimum for v in values)):
            raise _Unsupported(f"attribute {name}={values!r} must be {count} ints >= {minimum}")
        return tuple(values)

    def _window(self, attrs, in_hw, kernel, ceil_mode=False) -> tuple[tuple, tuple]:
        """(output plane, strides) of a conv or pool window from its ONNX attributes."""
        if any(d != 1 for d in self._ints(attrs, "dilations", 2, 1, (1, 1))):
            raise _Unsupported(f"dilations {list(attrs['dilations'])} are not supported")
        stride = self._ints(attrs, "strides", 2, 1, (1, 1))
        self._ints(attrs, "pads", 4, 0, (0, 0, 0, 0))
        auto_pad = attrs.get("auto_pad", b"NOTSET")
        auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            return tuple(-(-h // s) for h, s in zip(in_hw, stride)), stride
        pads = (0, 0, 0, 0) if auto_pad == "VALID" else tuple(attrs.get("pads", (0, 0, 0, 0)))
        out = []
        for axis, (h, k, s) in enumerate(zip(in_hw, kernel, stride)):
            span = h + pads[axis] + pads[axis + 2] - k
            out.append((-(-span // s) if ceil_mode else span // s) + 1)
        return tuple(out), stride

    def _conv(self, node, label, attrs, inputs, out) -> None:
        shape = self._require_4d(inputs[0])
        if len(inputs) < 2:
            raise _Unsupported("no weight input")
        w = self._weight_shape(inputs[1])
        if len(w) != 4:
            raise _Unsupported(f"weight of shape {w} is not a 2-D convolution kernel (K, C/groups, R, S)")
        groups = int(attrs.get("group", 1))
        kernel = self._ints(attrs, "kernel_shape", 2, 1, tuple(w[2:]))
        if w[1] * groups != shape[1]:
            raise _Unsupported(f"weight {w} with group={groups} does not match {shape[1]} input channels")
        out_hw, stride = self._window(attrs, shape[2:], kernel)
        padding = self._fit_padding(shape[2:], out_hw, kernel, stride, attrs)
        tags = {"onnx_op": "Conv"}
        if "pads" in attrs and len(set(attrs["pads"])) > 1:
            tags["onnx_pads"] = ",".join(map(str, attrs["pads"]))
        layer = conv2d(label, shape, int(w[0]), kernel, stride, padding, groups=groups, bias=len(inputs) > 2,
                       tags=tags)
        self._add_layer(layer, self._wire(inputs[0]), out)

    def _pool(self, op, label, attrs, tensor, out) -> None:
        shape = self._require_4d(tensor)
        kernel = self._ints(attrs, "kernel_shape", 2, 1)
        out_hw, stride = self._window(attrs, shape[2:], kernel, ceil_mode=bool(attrs.get("ceil_mode", 0)))
        padding = self._fit_padding(shape[2:], out_hw, kernel, stride, attrs)
        kind = "max" if op == "MaxPool" else "avg"
        self._add_layer(pool(label, shape, kind, kernel, stride, padding, tags={"onnx_op": op}), self._wire(tensor), out)

    def _fc_input(self, tensor: str) -> tuple:
        if tensor not in self.rank2:
            shape = self.shapes.get(tensor)
            raise _Unsupported(f"input {tensor!r} of shape {shape} is not a 2-D (N, features) tensor")
        return self._src_shape(tensor)

    def _gemm(self, label, attrs, inputs, out) -> None:
        if attrs.get("transA", 0):
            raise _Unsupported("transA=1 is not supported")
        src = self._fc_input(inputs[0])
        w = self._weight_shape(inputs[1])
        if len(w) != 2:
            raise _Unsupported(f"weight of shape {w} is not 2-D")
        features, k = (w[1], w[0]) if attrs.get("transB", 0) else (w[0], w[1])
        if features != src[1] * src[2] * src[3]:
            raise _Unsupported(f"weight {w} (transB={attrs.get('transB', 0)}) does not take {src[1] * src[2] * src[3]} features")
        layer = linear(label, src, int(k), bias=len(inputs) > 2, tags={"onnx_op": "Gemm"})
        self._add_layer(layer, self._wire(inputs[0]), out)
        self.rank2.add(out)

    def _matmul(self, label, inputs, out) -> None:
        a, b = inputs[0], inputs[1]
        if b not in self.constants:
            raise _Unsupported("only a constant 2-D weight as the second operand is supported (not two activations)")
        w = self._weight_shape(b)
        if len(w) != 2:
            raise _Unsupported(f"weight of shape {w} is not 2-D")
        src = self._fc_input(a)
        if w[0] != src[1] * src[2] * src[3]:
            raise _Unsupported(f"weight {w} does not take {src[1] * src[2] * src[3]} features")
        layer = linear(label, src, int(w[1]), bias=False, tags={"onnx_op": "MatMul"})
        self._add_layer(layer, self._wire(a), out)
        self.rank2.add(out)

    def _add(self, op, label, inputs, out) -> None:
        acts = [t for t in inputs if t not in self.constants]
        consts = [t for t in inputs if t in self.constants]
        if consts:
            # A bias after Conv/Gemm/MatMul: fold it into the producer.
            if len(acts) != 1:
                raise _Unsupported("adds a constant to more than one activation")
            producer = self._source(acts[0])
            layer = None if producer is None else self.g[producer]
            if layer is None or layer.op not in ("conv2d", "linear"):
                raise _Unsupported("adds a constant to a tensor that no Conv/Gemm/MatMul produced")
            if not layer.bias:
                self.g.graph.nodes[producer]["layer"] = replace(layer, bias=True)
            self._fold(acts[0], out)
            return
        if len(acts) < 2:
            self._fold(acts[0], out)  # a one-input Sum
            return
        shapes = {self._src_shape(t) for t in acts}
        if len(shapes) != 1 or any(t in self.rank2 for t in acts) != all(t in self.rank2 for t in acts):
            raise _Unsupported(f"broadcasting add of shapes {sorted(shapes)} is not supported")
        shape = shapes.pop()
        wires = []
        for t in acts:
            producer = self._source(t)
            if producer is None:
                producer = self._input_layer()
            wires.append(producer)
        layer = elementwise(label, "add", shape, len(acts), tags={"onnx_op": op})
        self._add_layer(layer, wires, out)
        if acts[0] in self.rank2:
            self.rank2.add(out)

    def _input_layer(self) -> str:
        """An explicit identity layer for the network input, for an add that reads it directly."""
        name = f"{self.input.name}.identity"
        if name not in self.g.graph:
            self.g.add(elementwise(name, "identity", self.g.input_shape))
        return name
