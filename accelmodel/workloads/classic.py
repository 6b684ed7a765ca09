"""Classic ImageNet CNNs as layer graphs: AlexNet, VGG16, ResNet-18/50, MobileNetV2, and the hardware-aware NAS
networks E2E-Perf compares on (EH-DNAS Table 4): FBNet-A, ProxylessNAS (mobile), MobileNetV3-Large.

Shapes follow the original papers / reference implementations; layer names follow torchvision (or, for
AlexNet and VGG16, the Caffe model names the accelerator papers use: ``conv1``..``conv5``, ``fc6``..``fc8``).
BatchNorm, ReLU/ReLU6, LRN and dropout move no MACs and are fused into their producer (no layer);
residual adds, shortcut (downsample) convs and pooling are explicit layers.

Every layer carries a ``part`` tag: ``conv`` for the feature extractor (convolutions and the pooling between
them) and ``fc`` for the classifier (global pooling and fully connected layers), so the "CONV layers" the
accelerator papers report on can be selected with ``[l for l in g if l.tag("part") == "conv" and l.op == "conv2d"]``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from .fbnet import fbnet
from .graph import LayerGraph, conv2d, elementwise, global_avgpool, linear, pool, scale
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


# ---- E2E-Perf's ImageNet baselines (EH-DNAS Table 4) ---------------------------------------------------

#: FBNet-A (Wu et al., CVPR 2019) in the FBNet search space's block names: the ``fbnet_a`` architecture of the
#: FBNet model definitions (facebookresearch/maskrcnn-benchmark ``fbnet_modeldef.py``; ``ir_k5_s2`` = k5_e1_g2).
FBNET_A_BLOCKS = ("skip",
                  "k3_e3", "k3_e1", "skip", "skip",
                  "k5_e6", "k3_e3", "k5_e1", "k3_e3",
                  "k5_e6", "k5_e3", "k5_e1_g2", "k5_e6",
                  "k3_e6", "k5_e1_g2", "k5_e1", "k3_e1_g2",
                  "k5_e6", "k5_e6", "k5_e3", "k5_e6",
                  "k5_e6")


def fbnet_a(batch: int = 1) -> LayerGraph:
    """FBNet-A at 224x224: the FBNet-space network of `FBNET_A_BLOCKS` (`accelmodel.workloads.fbnet`, whose
    ImageNet macro is FBNet's Table 1: 16-channel s2 stem, 1984-channel header), named ``fbnet_a`` and tagged
    like the other classic networks. Its workload space stays ``fbnet`` (specs key FBNet conventions on it).
    FBNet Table 2: 249 M MACs (here 247.7 M), 4.3 M parameters (here 4.88 M: the table's FBNet-A/B/C figures fit
    no single header width; 1504 channels would give 4.23 M parameters but 239 M MACs)."""
    src = fbnet(FBNET_A_BLOCKS, "imagenet", batch)
    g = LayerGraph("fbnet_a", src.input_shape, meta={**src.meta, "network": "fbnet_a"})
    for layer in src.layers:
        part = FC if layer.tag("position") in ("avgpool", "fc") else CONV
        g.add(replace(layer, tags=tuple(sorted({**dict(layer.tags), **part}.items()))), src.predecessors(layer.name))
    return g


#: ProxylessNAS (mobile), Cai et al., ICLR 2019: per stage, (output channels, kernel, expansion, whether the unit
#: has a body (0: identity only)), from the released ``proxyless_mobile`` config as osmr/imgclsmob encodes it
#: (``proxylessnas.py``: ``residuals``, ``channels``, ``kernel_sizes``, ``expansions``).
PROXYLESS_MOBILE = (
    ((16, 3, 1, 1),),
    ((32, 5, 3, 1), (32, 3, 3, 1), (32, 3, 3, 0), (32, 3, 3, 0)),
    ((40, 7, 3, 1), (40, 3, 3, 1), (40, 5, 3, 1), (40, 5, 3, 1)),
    ((80, 7, 6, 1), (80, 5, 3, 1), (80, 5, 3, 1), (80, 5, 3, 1), (96, 5, 6, 1), (96, 5, 3, 1), (96, 5, 3, 1),
     (96, 5, 3, 1)),
    ((192, 7, 6, 1), (192, 7, 6, 1), (192, 7, 3, 1), (192, 7, 3, 1), (320, 7, 6, 1)),
)


def proxylessnas_mobile(batch: int = 1) -> LayerGraph:
    """ProxylessNAS (mobile) at 224x224: 3x3 s2 stem to 32, five stages of mobile inverted bottlenecks (expand
    1x1 when the expansion is > 1, k x k depthwise with the stage's stride on its first unit, 1x1 project; a
    residual add where shape allows and the unit is not a stage's first or a channel change), 1x1 conv to 1280,
    global pooling, classifier. 4.08 M parameters with BN (imgclsmob's check: 4,080,512)."""
    g = _graph("proxylessnas_mobile", batch, 224)
    x = g.add(conv2d("first_conv", g.input_shape, 32, 3, 2, 1, tags=CONV))
    src, shape = x.name, x.out_shape
    for si, stage in enumerate(PROXYLESS_MOBILE):
        for ui, (out, k, exp, body) in enumerate(stage):
            stride = 2 if ui == 0 and si > 0 else 1
            name = f"stage{si + 1}.unit{ui + 1}"
            if not body:  # a "ZeroLayer" body with its shortcut: the unit passes its input on
                src = g.add(elementwise(name, "identity", shape, tags=CONV), src).name
                continue
            src, shape = _inverted_residual(g, name, src, shape, exp, out, k, stride, shortcut=ui > 0 and out == shape[1])
    x = g.add(conv2d("feature_mix_layer", shape, 1280, 1, 1, 0, tags=CONV), src)
    gap = g.add(global_avgpool("avgpool", x.out_shape, tags=FC), x.name)
    g.add(linear("classifier", gap.out_shape, 1000, tags=FC), gap.name)
    return g


def _make_divisible(value: float, divisor: int = 8) -> int:
    """torchvision's (TF MobileNet's) channel rounding: nearest multiple of `divisor`, never 10 % below."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


def _inverted_residual(g: LayerGraph, name: str, src: str, shape, exp: float, out: int, k: int, stride: int,
                       shortcut: bool, se: bool = False, hidden: int | None = None):
    """Expand 1x1 (skipped when the hidden width equals the input), k x k depthwise, optional squeeze-and-
    excitation (global pool, 1x1 conv + bias to hidden/4 rounded, 1x1 conv + bias back, channel-wise scale),
    project 1x1, residual add when `shortcut`. Returns (output layer name, shape)."""
    hidden = hidden if hidden is not None else int(round(shape[1] * exp))
    x = src
    if hidden != shape[1]:
        x = g.add(conv2d(f"{name}.expand", shape, hidden, 1, 1, 0, tags=CONV), x).name
    dw = g.add(conv2d(f"{name}.dw", (shape[0], hidden, shape[2], shape[3]), hidden, k, stride, k // 2,
                      groups=hidden, tags=CONV), x)
    x = dw.name
    if se:
        squeeze = _make_divisible(hidden // 4)
        p = g.add(global_avgpool(f"{name}.se.pool", dw.out_shape, tags=CONV), dw.name)
        f1 = g.add(conv2d(f"{name}.se.fc1", p.out_shape, squeeze, 1, 1, 0, bias=True, tags=CONV), p.name)
        f2 = g.add(conv2d(f"{name}.se.fc2", f1.out_shape, hidden, 1, 1, 0, bias=True, tags=CONV), f1.name)
        x = g.add(scale(f"{name}.se.scale", dw.out_shape, tags=CONV), [dw.name, f2.name]).name
    proj = g.add(conv2d(f"{name}.project", dw.out_shape, out, 1, 1, 0, tags=CONV), x)
    if shortcut and stride == 1 and shape[1] == out:
        add = g.add(elementwise(f"{name}.add", "add", proj.out_shape, 2, tags=CONV), [proj.name, src])
        return add.name, add.out_shape
    return proj.name, proj.out_shape


#: MobileNetV3-Large (Howard et al., ICCV 2019, Table 1; torchvision ``mobilenet_v3_large``): per bottleneck
#: (kernel, expanded channels, output channels, squeeze-and-excitation, stride). Activations (ReLU, h-swish) are
#: fused like every activation here.
MOBILENET_V3_LARGE = (
    (3, 16, 16, False, 1), (3, 64, 24, False, 2), (3, 72, 24, False, 1), (5, 72, 40, True, 2), (5, 120, 40, True, 1),
    (5, 120, 40, True, 1), (3, 240, 80, False, 2), (3, 200, 80, False, 1), (3, 184, 80, False, 1),
    (3, 184, 80, False, 1), (3, 480, 112, True, 1), (3, 672, 112, True, 1), (5, 672, 160, True, 2),
    (5, 960, 160, True, 1), (5, 960, 160, True, 1),
)


def mobilenet_v3_large(batch: int = 1) -> LayerGraph:
    """MobileNetV3-Large (width 1.0) at 224x224 as torchvision builds it: 3x3 s2 stem to 16, the 15 bottlenecks of
    `MOBILENET_V3_LARGE` (SE squeeze width: hidden / 4 rounded to a multiple of 8; residual add at stride 1 with
    equal channels), 1x1 conv to 960, global pooling, a 960 -> 1280 linear layer and the classifier. Paper: 219 M
    multiply-adds, 5.4 M parameters (torchvision: 5,483,032 with BN)."""
    g = _graph("mobilenet_v3_large", batch, 224)
    x = g.add(conv2d("features.0", g.input_shape, 16, 3, 2, 1, tags=CONV))
    src, shape = x.name, x.out_shape
    for i, (k, hidden, out, se, stride) in enumerate(MOBILENET_V3_LARGE, start=1):
        src, shape = _inverted_residual(g, f"features.{i}", src, shape, hidden / shape[1], out, k, stride,
                                        shortcut=True, se=se, hidden=hidden)
    x = g.add(conv2d("features.16", shape, 960, 1, 1, 0, tags=CONV), src)
    gap = g.add(global_avgpool("avgpool", x.out_shape, tags=FC), x.name)
    h = g.add(linear("classifier.0", gap.out_shape, 1280, tags=FC), gap.name)
    g.add(linear("classifier.3", h.out_shape, 1000, tags=FC), h.name)
    return g


#: name -> builder(batch) of every classic network.
NETWORKS: dict[str, Callable[[int], LayerGraph]] = {
    "alexnet": alexnet,
    "vgg16": vgg16,
    "resnet18": resnet18,
    "resnet50": resnet50,
    "mobilenet_v2": mobilenet_v2,
    "fbnet_a": fbnet_a,
    "proxylessnas_mobile": proxylessnas_mobile,
    "mobilenet_v3_large": mobilenet_v3_large,
}


def classic(name: str, batch: int = 1) -> LayerGraph:
    """A classic CNN by name (see `NETWORKS`) at ImageNet shapes."""
    if not isinstance(name, str) or name not in NETWORKS:
        raise ValueError(f"network {name!r} is not one of {sorted(NETWORKS)} (or 'nb201:<arch>', "
                         "'fbnet:<ops>', a .onnx path)")
    return NETWORKS[name](_check_batch(batch))
