import pytest

from accelmodel.workloads import LayerGraph, Layer, conv2d, elementwise, linear, pool


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
