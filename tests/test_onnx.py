import numpy as np
from hypothesis import given, settings, strategies as st
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from accelmodel.workloads import classic, from_onnx, get  # noqa: E402

FLOAT = TensorProto.FLOAT


def weight(name, *shape):
    """A zero-filled float initializer (the small models here pass onnx.checker)."""
    return numpy_helper.from_array(np.zeros(shape, np.float32), name)


def shape_only(name, *shape):
    """An initializer with dims but no data: enough for shape inference and the importer, and keeps the
    round-trip models of large networks small (onnx.checker would reject it)."""
    return TensorProto(name=name, data_type=FLOAT, dims=list(shape))


def const(name, values, dtype=np.int64):
    return numpy_helper.from_array(np.asarray(values, dtype=dtype), name)


def model(nodes, inits, in_shape, out_name="y", out_shape=None, name="net"):
    x = helper.make_tensor_value_info("x", FLOAT, in_shape)
    y = helper.make_tensor_value_info(out_name, FLOAT, out_shape)
    graph = helper.make_graph(nodes, name, [x], [y], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def bn(name, inp, out, c):
    params = [weight(f"{name}.{p}", c) for p in ("scale", "bias", "mean", "var")]
    node = helper.make_node("BatchNormalization", [inp] + [p.name for p in params], [out], name=name)
    return node, params


def test_conv_bn_relu_pool_flatten_gemm(tmp_path):
    b_node, b_params = bn("bn", "c", "b", 8)
    nodes = [
        helper.make_node("Conv", ["x", "w", "wb"], ["c"], name="conv", pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        b_node,
        helper.make_node("Relu", ["b"], ["r"], name="relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="fc", transB=1),
    ]
    inits = [weight("w", 8, 3, 3, 3), weight("wb", 8), weight("fw", 10, 8 * 16 * 16), weight("fb", 10)] + b_params
    m = model(nodes, inits, ["N", 3, 32, 32], out_shape=["N", 10])
    onnx.checker.check_model(m)
    path = tmp_path / "small.onnx"
    onnx.save(m, path)

    g = from_onnx(path, batch=2)
    assert [l.name for l in g] == ["conv", "pool", "fc"]  # BN and ReLU fold into the conv, Flatten into the FC
    assert g.input_shape == (2, 3, 32, 32)
    assert g["conv"].out_shape == (2, 8, 32, 32) and g["conv"].padding == (1, 1) and g["conv"].bias
    assert g["pool"].op == "maxpool" and g["pool"].out_shape == (2, 8, 16, 16)
    assert g["fc"].in_shape == (2, 2048, 1, 1) and g["fc"].out_shape == (2, 10, 1, 1)
    assert g.macs == 2 * (8 * 3 * 9 * 32 * 32 + 2048 * 10)
    assert g.params == 8 * 27 + 8 + 2048 * 10 + 10
    assert g.meta["space"] == "onnx"
    # get() dispatches paths ending in .onnx
    assert get(str(path)).macs == g.macs // 2


def test_residual_add_and_matmul_bias():
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "r1"], ["s"], name="add"),
        helper.make_node("Relu", ["s"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["gp"], name="gap"),
        helper.make_node("Flatten", ["gp"], ["f"], name="flatten"),
        helper.make_node("MatMul", ["f", "fw"], ["mm"], name="fc"),
        helper.make_node("Add", ["mm", "fb"], ["y"], name="fc_bias"),
    ]
    inits = [weight("w1", 8, 3, 3, 3), weight("w2", 8, 8, 3, 3), weight("fw", 8, 10), weight("fb", 10)]
    g = from_onnx(model(nodes, inits, [1, 3, 16, 16]))
    assert [l.name for l in g] == ["conv1", "conv2", "add", "gap", "fc"]
    assert g["add"].op == "add" and g["add"].num_inputs == 2
    assert set(g.predecessors("add")) == {"conv1", "conv2"}
    assert g["gap"].op == "global_avgpool" and g["gap"].out_shape == (1, 8, 1, 1)
    assert g["fc"].bias and g["fc"].params == 8 * 10 + 10  # the constant Add became the FC's bias
    assert g.macs == 8 * 27 * 256 + 8 * 72 * 256 + 80


def test_depthwise_clip_avgpool_reshape_and_same_padding():
    nodes = [
        helper.make_node("Conv", ["x", "w0"], ["c0"], name="stem", strides=[2, 2], auto_pad="SAME_UPPER"),
        helper.make_node("Clip", ["c0", "lo", "hi"], ["a0"], name="relu6"),
        helper.make_node("Conv", ["a0", "wd"], ["c1"], name="dw", group=16, pads=[1, 1, 1, 1]),
        helper.make_node("Clip", ["c1", "lo", "hi"], ["a1"], name="relu6b"),
        helper.make_node("Conv", ["a1", "wp"], ["c2"], name="pw"),
        helper.make_node("AveragePool", ["c2"], ["p"], name="avg", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Dropout", ["p"], ["d"], name="drop"),
        helper.make_node("Reshape", ["d", "shape"], ["f"], name="reshape"),
        helper.make_node("Gemm", ["f", "fw"], ["y"], name="fc", transB=1),
    ]
    inits = [weight("w0", 16, 3, 3, 3), weight("wd", 16, 1, 3, 3), weight("wp", 32, 16, 1, 1),
             weight("fw", 5, 32 * 8 * 8), const("lo", 0.0, np.float32), const("hi", 6.0, np.float32),
             const("shape", [0, -1])]
    g = from_onnx(model(nodes, inits, ["batch", 3, 32, 32]), batch=3)
    assert [l.name for l in g] == ["stem", "dw", "pw", "avg", "fc"]
    assert g["stem"].out_shape == (3, 16, 16, 16) and g["stem"].stride == (2, 2)
    assert g["dw"].is_depthwise and g["dw"].macs == 3 * 16 * 9 * 256
    assert g["avg"].op == "avgpool" and g["avg"].out_shape == (3, 32, 8, 8)
    assert g["fc"].in_shape == (3, 2048, 1, 1) and not g["fc"].bias


def test_pytorch_style_view_with_shape_arithmetic():
    # x.view(x.size(0), -1) exports as Shape -> Gather -> Unsqueeze -> Concat -> Reshape: no activations move.
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Shape", ["c"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "zero"], ["n"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["n", "axes"], ["n1"], name="unsq"),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], name="concat", axis=0),
        helper.make_node("Reshape", ["c", "target"], ["f"], name="view"),
        helper.make_node("Gemm", ["f", "fw"], ["y"], name="fc", transB=1),
    ]
    inits = [weight("w", 4, 3, 1, 1), weight("fw", 7, 4 * 8 * 8), const("zero", 0), const("axes", [0]),
             const("minus1", [-1])]
    g = from_onnx(model(nodes, inits, [1, 3, 8, 8]))
    assert [l.name for l in g] == ["conv", "fc"]
    assert g["fc"].in_shape == (1, 256, 1, 1)


def test_unsupported_types_listed_with_counts():
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Sigmoid", ["c"], ["s"], name="sig"),
        helper.make_node("Mul", ["c", "s"], ["m"], name="swish"),
        helper.make_node("Concat", ["m", "c"], ["cat"], name="cat1", axis=1),
        helper.make_node("Concat", ["cat", "c"], ["cat2"], name="cat2", axis=1),
        helper.make_node("Conv", ["cat2", "w2"], ["y"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["c", "w3"], ["z"], name="conv3", dilations=[2, 2], pads=[2, 2, 2, 2]),
    ]
    inits = [weight("w", 4, 3, 3, 3), weight("w2", 4, 12, 3, 3), weight("w3", 4, 4, 3, 3)]
    with pytest.raises(ValueError) as e:
        from_onnx(model(nodes, inits, [1, 3, 8, 8]))
    msg = str(e.value)
    # One error with every unsupported type and its count, and the unsupported use of a supported type;
    # conv2 (downstream of the Concats) is not blamed.
    assert "Concat (2)" in msg and "Mul (1)" in msg and "Sigmoid (1)" in msg
    assert "'conv3'" in msg and "dilations [2, 2]" in msg and "'conv2'" not in msg
    assert "supported:" in msg and "'Conv'" in msg


def test_unsupported_uses_of_supported_types_all_reported():
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="dilated", dilations=[2, 2], pads=[2, 2, 2, 2]),
        helper.make_node("Conv", ["x", "w"], ["c2"], name="plain", pads=[1, 1, 1, 1]),
        helper.make_node("Flatten", ["c2"], ["f"], name="flat"),
        helper.make_node("MatMul", ["f", "f2"], ["y"], name="attn"),
        helper.make_node("Flatten", ["c2"], ["f2"], name="flat2"),
    ]
    # Topological order for ONNX: flat2 must precede attn.
    nodes = nodes[:3] + [nodes[4], nodes[3]]
    inits = [weight("w", 4, 3, 3, 3)]
    with pytest.raises(ValueError) as e:
        from_onnx(model(nodes, inits, [1, 3, 8, 8]))
    msg = str(e.value)
    assert "'dilated'" in msg and "dilations" in msg
    assert "'attn'" in msg and "two activations" in msg


def test_bad_batch_and_path(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv")]
    m = model(nodes, [weight("w", 4, 3, 1, 1)], [1, 3, 8, 8])
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="positive"):
            from_onnx(m, batch=bad)
    with pytest.raises(FileNotFoundError):
        from_onnx(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00\xffnot a model")
    with pytest.raises(ValueError, match="junk.onnx"):
        from_onnx(junk)
    sym = model(nodes, [weight("w", 4, 3, 1, 1)], [1, 3, "H", 8])
    with pytest.raises(ValueError, match="axis 2 is symbolic"):
        from_onnx(sym)


# ---- round trip: a classic network exported to ONNX by the test imports to the same layers ---------

def to_onnx(g):
    """Emit `g` (conv, pool, add, global pool, linear) as an ONNX model, with ReLUs after convs."""
    nodes, inits, out_of = [], [], {}
    for layer in g:
        preds = g.predecessors(layer.name)
        ins = [out_of[p] for p in preds] or ["x"]
        out = layer.name + ".out"
        if layer.op == "conv2d":
            inits.append(shape_only(layer.name + ".w", layer.K, layer.C // layer.groups, layer.R, layer.S))
            conv_out = layer.name + ".conv"
            p = list(layer.padding)
            nodes.append(helper.make_node("Conv", [ins[0], layer.name + ".w"], [conv_out], name=layer.name,
                                          group=layer.groups, strides=list(layer.stride), pads=p + p,
                                          kernel_shape=list(layer.kernel)))
            nodes.append(helper.make_node("Relu", [conv_out], [out], name=layer.name + ".relu"))
        elif layer.op in ("maxpool", "avgpool"):
            p = list(layer.padding)
            nodes.append(helper.make_node("MaxPool" if layer.op == "maxpool" else "AveragePool", ins, [out],
                                          name=layer.name, kernel_shape=list(layer.kernel),
                                          strides=list(layer.stride), pads=p + p))
        elif layer.op == "add":
            nodes.append(helper.make_node("Add", ins, [out], name=layer.name))
        elif layer.op == "global_avgpool":
            nodes.append(helper.make_node("GlobalAveragePool", ins, [out], name=layer.name))
        elif layer.op == "linear":
            flat = layer.name + ".flat"
            nodes.append(helper.make_node("Flatten", ins, [flat], name=layer.name + ".flatten"))
            inits += [shape_only(layer.name + ".w", layer.K, layer.C), shape_only(layer.name + ".b", layer.K)]
            nodes.append(helper.make_node("Gemm", [flat, layer.name + ".w", layer.name + ".b"], [out],
                                          name=layer.name, transB=1))
        else:
            raise AssertionError(layer.op)
        out_of[layer.name] = out
    nodes[-1].output[0] = "y"
    return model(nodes, inits, ["N", *g.input_shape[1:]], name=g.name)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "alexnet"])
def test_round_trip_classic_networks(name):
    g = classic(name)
    back = from_onnx(to_onnx(g), batch=2)
    assert [l.name for l in back] == [l.name for l in g]
    g2 = classic(name, batch=2)
    assert [l.signature for l in back] == [l.signature for l in g2]
    assert back.macs == g2.macs


def test_ceil_mode_and_asymmetric_pads():
    # Caffe-style ceil-mode pooling and TF-style asymmetric padding only change the output plane; the
    # importer picks the symmetric padding that gives the same plane (and MACs) and keeps ONNX's pads as a tag.
    nodes = [
        helper.make_node("MaxPool", ["x"], ["p"], name="pool", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
        helper.make_node("Conv", ["p", "w"], ["y"], name="conv", strides=[2, 2], pads=[0, 0, 1, 1]),
    ]
    g = from_onnx(model(nodes, [weight("w", 8, 4, 3, 3)], [1, 4, 112, 112]))
    assert g["pool"].out_shape == (1, 4, 56, 56)  # floor mode would give 55
    assert g["conv"].out_shape == (1, 8, 28, 28)
    assert g["conv"].tag("onnx_pads") == "0,0,1,1"


@st.composite
def small_cnns(draw):
    from accelmodel.workloads import LayerGraph, conv2d, elementwise, pool

    size = draw(st.sampled_from([8, 12, 16, 32]))
    g = LayerGraph("random", (1, draw(st.sampled_from([1, 3, 4])), size, size))
    prev, shape = (), g.input_shape
    for i in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["conv", "conv", "dw", "pool", "residual"]))
        k = draw(st.sampled_from([1, 3, 5]))
        k = min(k, shape[2])
        s = draw(st.sampled_from([1, 2]))
        p = draw(st.integers(0, k // 2))
        if kind == "conv":
            groups = draw(st.sampled_from([g_ for g_ in (1, 2, 4) if shape[1] % g_ == 0]))
            layer = conv2d(f"l{i}", shape, groups * draw(st.integers(1, 6)), k, s, p, groups=groups)
        elif kind == "dw":
            layer = conv2d(f"l{i}", shape, shape[1], k, s, p, groups=shape[1])
        elif kind == "pool":
            layer = pool(f"l{i}", shape, draw(st.sampled_from(["max", "avg"])), k, s, p)
        else:
            conv = g.add(conv2d(f"l{i}.conv", shape, shape[1], 3, 1, 1), prev)
            layer = elementwise(f"l{i}", "add", shape, 2)
            prev = [conv.name, prev[0] if prev else g.add(conv2d(f"l{i}.side", shape, shape[1], 1, 1, 0)).name]
        prev = [g.add(layer, prev).name]
        shape = layer.out_shape
    return g


@settings(max_examples=30, deadline=None)
@given(small_cnns(), st.integers(1, 4))
def test_random_cnns_round_trip(g, batch):
    back = from_onnx(to_onnx(g), batch=batch)
    assert [l.name for l in back] == [l.name for l in g]
    assert [l.out_shape for l in back] == [(batch, *l.out_shape[1:]) for l in g]
    assert back.macs == batch * g.macs
    def geometry(graph):
        return [(l.op, l.in_shape[1:], l.kernel, l.stride, l.padding, l.groups, l.num_inputs) for l in graph]

    assert geometry(back) == geometry(g)  # the model's own symmetric padding is kept


def test_weights_from_constant_nodes():
    w = numpy_helper.from_array(np.zeros((6, 3, 3, 3), np.float32), "wv")
    nodes = [
        helper.make_node("Constant", [], ["w"], name="wconst", value=w),
        helper.make_node("Conv", ["x", "w"], ["y"], name="conv", pads=[1, 1, 1, 1]),
    ]
    g = from_onnx(model(nodes, [], [1, 3, 8, 8]))
    assert g["conv"].out_shape == (1, 6, 8, 8) and g["conv"].macs == 6 * 27 * 64
