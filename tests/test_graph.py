import pytest

from accelmodel.workloads import LayerGraph, Layer, concat, conv2d, elementwise, global_avgpool, linear, pool, scale


def test_conv_shapes_and_macs():
    l = conv2d("c", (2, 8, 10, 10), 16, 3, 2, 1)
    assert l.out_shape == (2, 16, 5, 5)
    assert l.macs == 2 * 16 * 5 * 5 * 8 * 9
    assert l.params == 16 * 8 * 9
    dw = conv2d("dw", (1, 8, 10, 10), 8, 3, 1, 1, groups=8)
    assert dw.type == "conv2d_depthwise" and dw.macs == 8 * 100 * 9
    gc = conv2d("g", (1, 8, 10, 10), 16, 1, groups=2)
    assert gc.type == "conv2d_grouped" and gc.macs == 16 * 100 * 4


def test_signature_ignores_name():
    assert conv2d("a", (1, 8, 8, 8), 8, 3).signature == conv2d("b", (1, 8, 8, 8), 8, 3).signature
    assert conv2d("a", (1, 8, 8, 8), 8, 3).signature != conv2d("a", (1, 8, 8, 8), 8, 3, 2).signature


@pytest.mark.parametrize("kwargs, needle", [
    (dict(in_shape=(1, 0, 8, 8), out_channels=4), "non-positive"),
    (dict(in_shape=(1, 8, 8, 8), out_channels=-1), "out_channels"),
    (dict(in_shape=(1, 8, 8, 8), out_channels=6, groups=4), "groups"),
    (dict(in_shape=(1, 8, 2, 2), out_channels=4, kernel=5, padding=0), "does not fit"),
])
def test_bad_layers(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        conv2d("bad", **kwargs)


def test_graph_checks_shapes_and_orders():
    g = LayerGraph("t", (1, 3, 8, 8))
    a = g.add(conv2d("a", (1, 3, 8, 8), 4, 3))
    b = g.add(conv2d("b", a.out_shape, 4, 3), "a")
    g.add(elementwise("sum", "add", b.out_shape, 2), ["a", "b"])
    g.add(linear("fc", b.out_shape, 10), "sum")
    assert [l.name for l in g.layers] == ["a", "b", "sum", "fc"]
    assert g["fc"].in_shape == (1, 256, 1, 1)
    with pytest.raises(ValueError, match="expects input"):
        g.add(conv2d("c", (1, 5, 8, 8), 4, 3), "a")
    with pytest.raises(ValueError, match="unknown layer"):
        g.add(conv2d("d", (1, 4, 8, 8), 4, 3), "nope")
    with pytest.raises(ValueError, match="exists"):
        g.add(conv2d("a", (1, 3, 8, 8), 4, 3))
    assert len(g.unique_layers()) == 4
    assert list(g.summary().columns)[:3] == ["name", "type", "in_shape"]


def test_layer_constructor_checks():
    with pytest.raises(ValueError, match="op"):
        Layer("x", "conv3d", (1, 1, 1, 1), (1, 1, 1, 1))
    with pytest.raises(ValueError, match="output plane"):
        Layer("x", "conv2d", (1, 4, 8, 8), (1, 4, 7, 7), kernel=(3, 3), padding=(1, 1))
    with pytest.raises(ValueError, match="pool kind"):
        pool("p", (1, 4, 8, 8), "min")


def test_dilated_conv_shape_macs_and_signature():
    d = conv2d("d", (1, 8, 16, 16), 8, 3, 1, groups=8, dilation=2)        # DARTS dil_conv_3x3: padding 2
    assert d.padding == (2, 2) and d.extent == (5, 5) and d.out_shape == (1, 8, 16, 16)
    assert d.macs == 8 * 16 * 16 * 9 and d.params == 8 * 9                  # taps of the 3x3 kernel
    assert conv2d("d5", (1, 8, 16, 16), 8, 5, 2, groups=8, dilation=2).out_shape == (1, 8, 8, 8)  # padding 4
    assert conv2d("p", (1, 8, 16, 16), 8, 3, 1, padding=2, groups=8).out_shape == (1, 8, 18, 18)  # undilated
    assert d.signature != conv2d("e", (1, 8, 16, 16), 8, 3, 1, padding=2, groups=8, dilation=1).signature
    assert "d2" in str(d)
    with pytest.raises(ValueError, match="dilation"):
        conv2d("bad", (1, 8, 4, 4), 8, 3, 1, padding=0, dilation=2)      # a 5x5 span on 4x4 does not fit
    with pytest.raises(ValueError, match="dilation"):
        conv2d("bad", (1, 8, 8, 8), 8, 3, dilation=0)
    with pytest.raises(ValueError, match="conv2d only"):
        Layer("x", "maxpool", (1, 4, 8, 8), (1, 4, 8, 8), kernel=(3, 3), padding=(1, 1), dilation=(2, 2))
    with pytest.raises(ValueError, match="dilation"):
        Layer("x", "conv2d", (1, 4, 8, 8), (1, 4, 8, 8), kernel=(3, 3), padding=(1, 1), dilation=(2, 2))


def test_concat_wires_channels_in_order():
    g = LayerGraph("t", (1, 3, 8, 8))
    a = g.add(conv2d("a", (1, 3, 8, 8), 4, 3))
    b = g.add(conv2d("b", (1, 3, 8, 8), 6, 3))
    cat = g.add(concat("cat", [a.out_shape, b.out_shape]), ["a", "b"])
    assert cat.out_shape == (1, 10, 8, 8) and cat.concat_channels == (4, 6) and cat.num_inputs == 2
    assert cat.macs == 0 and cat.input_elements == cat.output_elements == 640 and cat.type == "concat"
    g.add(conv2d("c", cat.out_shape, 4, 1), "cat")
    with pytest.raises(ValueError, match="input 'a' has shape"):
        g.add(concat("swapped", [b.out_shape, a.out_shape]), ["a", "b"])
    with pytest.raises(ValueError, match="declares 2 inputs, wired 1"):
        g.add(concat("short", [a.out_shape, a.out_shape]), ["a"])
    with pytest.raises(ValueError, match="plane"):
        concat("x", [(1, 4, 8, 8), (1, 4, 4, 4)])
    with pytest.raises(ValueError, match=">= 2 inputs"):
        concat("x", [(1, 4, 8, 8)])
    with pytest.raises(ValueError, match="concat_channels"):
        Layer("x", "concat", (1, 8, 4, 4), (1, 8, 4, 4), tags=(("num_inputs", "2"),))


def test_strided_zero_subsamples_the_plane():
    z = elementwise("z", "zero", (1, 8, 7, 7), stride=2)                  # DARTS Zero(2): x[:, :, ::2, ::2] * 0
    assert z.out_shape == (1, 8, 4, 4) and z.stride == (2, 2) and z.macs == 0
    with pytest.raises(ValueError, match="only a zero layer"):
        elementwise("i", "identity", (1, 8, 8, 8), stride=2)
    with pytest.raises(ValueError, match="zero with stride"):
        Layer("z", "zero", (1, 8, 8, 8), (1, 8, 8, 8), stride=(2, 2))


def test_scale_takes_a_map_and_per_channel_factors():
    g = LayerGraph("t", (1, 3, 8, 8))
    a = g.add(conv2d("a", (1, 3, 8, 8), 4, 3))
    p = g.add(global_avgpool("p", a.out_shape), "a")
    s = g.add(scale("s", a.out_shape), ["a", "p"])
    assert s.out_shape == a.out_shape and s.window_ops == 256 and s.input_elements == 256 + 4
    with pytest.raises(ValueError, match="per-channel factors"):
        g.add(scale("bad", a.out_shape), ["p", "a"])
