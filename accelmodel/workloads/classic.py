"""Classic ImageNet CNNs as layer graphs: AlexNet, VGG16, ResNet-18/50, MobileNetV2.

Shapes follow the original papers / reference implementations; layer names follow torchvision (or, for
AlexNet and VGG16, the Caffe model names the accelerator papers use: ``conv1``..``conv5``, ``fc6``..``fc8``).
BatchNorm, ReLU/ReLU6, LRN and dropout move no MACs and are fused into their producer (no layer);
residual adds, shortcut (downsample) convs and pooling are explicit layers.

Every layer carries a ``part`` tag: ``conv`` for the feature extractor (convolutions and the pooling between
them) and ``fc`` for the classifier (global pooling and fully connected layers), so the "CONV layers" the
accelerator papers report on can be selected with ``[l for l in g if l.tag("part") == "conv" and l.op == "conv2d"]``.
"""

from __future__ import annotations

from typing import Callable

from .graph import LayerGraph, conv2d, elementwise, global_avgpool, linear, pool
from .nasbench201 import _check_batch

CONV = {"part": "conv"}
FC = {"part": "fc"}


def _graph(name: str, batch: int, size: int) -> LayerGraph:
    return LayerGraph(name, (batch, 3, size, size), meta={"space": "classic", "network": name, "dataset": "imagenet"})


def alexnet(batch: int = 1) -> LayerGraph:
    """AlexNet as trained by Krizhevsky et al. (2012) on two GPUs, i.e. Caffe's ``bvlc_alexnet``: 227×227
    input, CONV2/4/5 with two groups. This is the network of the Eyeriss paper (Chen et al., JSSC 2017),
    whose five CONV layers total 666 M MACs per image. (torchvision's `alexnet` is a different, ungrouped
    variant with 64/192 channels.)"""
    g = _graph("alexnet", batch, 227)
    x = g.add(conv2d("conv1", g.input_shape, 96, 11, 4, 0, bias=True, tags=CONV))
    x = g.add(pool("pool1", x.out_shape, "max", 3, 2, 0, tags=CONV), x.name)
    x = g.add(conv2d("conv2", x.out_shape, 256, 5, 1, 2, groups=2, bias=True, tags=CONV), x.name)
    x = g.add(pool("pool2", x.out_shape, "max", 3, 2, 0, tags=CONV), x.name)
    x = g.add(conv2d("conv3", x.out_shape, 384, 3, 1, 1, bias=True, tags=CONV), x.name)
    x = g.add(conv2d("conv4", x.out_shape, 384, 3, 1, 1, groups=2, bias=True, tags=CONV), x.name)
    x = g.add(conv2d("conv5", x.out_shape, 256, 3, 1, 1, groups=2, bias=True, tags=CONV), x.name)
    x = g.add(pool("pool5", x.out_shape, "max", 3, 2, 0, tags=CONV), x.name)
    x = g.add(linear("fc6", x.out_shape, 4096, tags=FC), x.name)
    x = g.add(linear("fc7", x.out_shape, 4096, tags=FC), x.name)
    g.add(linear("fc8", x.out_shape, 1000, tags=FC), x.name)
    return g


#: VGG16 (Simonyan & Zisserman 2015, configuration D): channels per 3×3 conv, "M" = 2×2 max pool.
VGG16_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


def vgg16(batch: int = 1) -> LayerGraph:
    """VGG16 (configuration D) at 224×224: thirteen 3×3 convs (15.3 G MACs per image), three FC layers."""
    g = _graph("vgg16", batch, 224)
    prev, shape = None, g.input_shape
    block, idx = 1, 1
    for item in VGG16_CONFIG:
        if item == "M":
            layer = g.add(pool(f"pool{block}", shape, "max", 2, 2, 0, tags=CONV), prev or ())
            block, idx = block + 1, 1
        else:
            layer = g.add(conv2d(f"conv{block}_{idx}", shape, item, 3, 1, 1, bias=True, tags=CONV), prev or ())
            idx += 1
        prev, shape = layer.name, layer.out_shape
    for name, out in (("fc6", 4096), ("fc7", 4096), ("fc8", 1000)):
        layer = g.add(linear(name, shape, out, tags=FC), prev)
        prev, shape = layer.name, layer.out_shape
    return g


# ---- ResNets (He et al. 2016; torchvision's v1.5: the stride sits on the 3×3 conv) -----------------

def _resnet_stem(g: LayerGraph) -> tuple[str, tuple]:
    x = g.add(conv2d("conv1", g.input_shape, 64, 7, 2, 3, tags=CONV))
    x = g.add(pool("maxpool", x.out_shape, "max", 3, 2, 1, tags=CONV), x.name)
    return x.name, x.out_shape


def _shortcut(g: LayerGraph, name: str, src: str, shape, out_channels: int, stride: int) -> str:
    """The identity, or a 1×1 strided conv (torchvision's `downsample`) when the shape changes."""
    if stride == 1 and shape[1] == out_channels:
        return src
    return g.add(conv2d(f"{name}.downsample", shape, out_channels, 1, stride, 0, tags=CONV), src).name


def _basic_block(g: LayerGraph, name: str, src: str, shape, channels: int, stride: int):
    a = g.add(conv2d(f"{name}.conv1", shape, channels, 3, stride, 1, tags=CONV), src)
    b = g.add(conv2d(f"{name}.conv2", a.out_shape, channels, 3, 1, 1, tags=CONV), a.name)
    short = _shortcut(g, name, src, shape, channels, stride)
    out = g.add(elementwise(f"{name}.add", "add", b.out_shape, 2, tags=CONV), [b.name, short])
    return out.name, out.out_shape


def _bottleneck(g: LayerGraph, name: str, src: str, shape, width: int, stride: int):
    out_channels = width * 4
    a = g.add(conv2d(f"{name}.conv1", shape, width, 1, 1, 0, tags=CONV), src)
    b = g.add(conv2d(f"{name}.conv2", a.out_shape, width, 3, stride, 1, tags=CONV), a.name)
    c = g.add(conv2d(f"{name}.conv3", b.out_shape, out_channels, 1, 1, 0, tags=CONV), b.name)
    short = _shortcut(g, name, src, shape, out_channels, stride)
    out = g.add(elementwise(f"{name}.add", "add", c.out_shape, 2, tags=CONV), [c.name, short])
    return out.name, out.out_shape


def _resnet(name: str, batch: int, block, blocks_per_stage: tuple[int, ...]) -> LayerGraph:
    g = _graph(name, batch, 224)
    src, shape = _resnet_stem(g)
    for stage, n in enumerate(blocks_per_stage):
        width = 64 * 2 ** stage
        for i in range(n):
            stride = 2 if (i == 0 and stage > 0) else 1
            src, shape = block(g, f"layer{stage + 1}.{i}", src, shape, width, stride)
    gap = g.add(global_avgpool("avgpool", shape, tags=FC), src)
    g.add(linear("fc", gap.out_shape, 1000, tags=FC), gap.name)
    return g


def resnet18(batch: int = 1) -> LayerGraph:
    """ResNet-18 at 224×224 (torchvision layout): 1.81 G MACs, 11.7 M parameters."""
    return _resnet("resnet18", batch, _basic_block, (2, 2, 2, 2))


def resnet50(batch: int = 1) -> LayerGraph:
    """ResNet-50 v1.5 at 224×224 (torchvision layout, stride on the 3×3 conv): 4.09 G MACs, 25.6 M parameters."""
    return _resnet("resnet50", batch, _bottleneck, (3, 4, 6, 3))


# ---- MobileNetV2 (Sandler et al. 2018, width 1.0, torchvision layout) ------------------------------

#: (expansion t, output channels c, repeats n, first stride s), Table 2 of the paper.
MOBILENET_V2_CONFIG = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenet_v2(batch: int = 1) -> LayerGraph:
    """MobileNetV2 (width 1.0) at 224×224: 0.30 G MACs, 3.5 M parameters. The expand conv is absent for t=1."""
    g = _graph("mobilenet_v2", batch, 224)
    x = g.add(conv2d("features.0", g.input_shape, 32, 3, 2, 1, tags=CONV))
    src, shape = x.name, x.out_shape
    index = 1
    for t, c, n, s in MOBILENET_V2_CONFIG:
        for i in range(n):
            stride = s if i == 0 else 1
            name = f"features.{index}"
            hidden = shape[1] * t
            prev = src
            if t != 1:
                prev = g.add(conv2d(f"{name}.expand", shape, hidden, 1, 1, 0, tags=CONV), prev).name
            dw = g.add(conv2d(f"{name}.dw", (shape[0], hidden, shape[2], shape[3]), hidden, 3, stride, 1,
                              groups=hidden, tags=CONV), prev)
            proj = g.add(conv2d(f"{name}.project", dw.out_shape, c, 1, 1, 0, tags=CONV), dw.name)
            if stride == 1 and shape[1] == c:
                out = g.add(elementwise(f"{name}.add", "add", proj.out_shape, 2, tags=CONV), [proj.name, src])
            else:
                out = proj
            src, shape = out.name, out.out_shape
            index += 1
    x = g.add(conv2d(f"features.{index}", shape, 1280, 1, 1, 0, tags=CONV), src)
    gap = g.add(global_avgpool("avgpool", x.out_shape, tags=FC), x.name)
    g.add(linear("classifier", gap.out_shape, 1000, tags=FC), gap.name)
    return g


#: name -> builder(batch) of every classic network.
NETWORKS: dict[str, Callable[[int], LayerGraph]] = {
    "alexnet": alexnet,
    "vgg16": vgg16,
    "resnet18": resnet18,
    "resnet50": resnet50,
    "mobilenet_v2": mobilenet_v2,
}


def classic(name: str, batch: int = 1) -> LayerGraph:
    """A classic CNN by name (see `NETWORKS`) at ImageNet shapes."""
    if not isinstance(name, str) or name not in NETWORKS:
        raise ValueError(f"network {name!r} is not one of {sorted(NETWORKS)} (or 'nb201:<arch>', "
                         "'fbnet:<ops>', a .onnx path)")
    return NETWORKS[name](_check_batch(batch))
