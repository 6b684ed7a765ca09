"""Workloads as layer graphs: NAS-Bench-201, FBNet, DARTS, classic CNNs and ONNX import."""

from __future__ import annotations

import os

from .graph import OPS, Layer, LayerGraph, concat, conv2d, elementwise, global_avgpool, linear, pool, scale
from .nasbench201 import nasbench201, nasbench201_arch_strings, read_index_file
# Imported eagerly: once a submodule is loaded, Python binds its module object to the package attribute of
# the same name, which would shadow a lazily provided function `fbnet` / `classic`.
from .classic import classic
from .darts import darts
from .fbnet import fbnet


def get(name: str, batch: int = 1, dataset: str | None = None) -> LayerGraph:
    """A network by name.

    - a classic CNN: see `accelmodel.workloads.classic.NETWORKS` (alexnet, vgg16, resnet18, ...)
    - ``nb201:<arch_str>``: a NAS-Bench-201 network (`dataset` default cifar10)
    - ``fbnet:<22 comma-separated block indices or names>``: an FBNet network (`dataset` default cifar100)
    - ``darts:<genotype>``: a DARTS network, C = 16 and 8 cells (`dataset` default cifar10; ImageNet); the
      genotype is a name (``DARTS_V2``), an int code, 28 edge digits or DARTS' printed ``Genotype(...)``
      (see `accelmodel.workloads.darts.parse_genotype`)
    - a path ending in ``.onnx``: imported with `from_onnx`
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"network name must be a non-empty string, got {name!r}")
    if name.startswith("nb201:"):
        return nasbench201(name[len("nb201:"):], dataset="cifar10" if dataset is None else dataset, batch=batch)
    if name.startswith("fbnet:"):
        from .fbnet import parse_ops

        return fbnet(parse_ops(name[len("fbnet:"):]), dataset="cifar100" if dataset is None else dataset, batch=batch)
    if name.startswith("darts:"):
        return darts(name[len("darts:"):], dataset="cifar10" if dataset is None else dataset, batch=batch)
    if name.endswith(".onnx") or os.path.exists(name):
        from .onnx import from_onnx

        if dataset is not None:  # it would be ignored: the model fixes its input
            raise ValueError(f"dataset={dataset!r} applies to nb201:/fbnet:/darts: networks only; the ONNX model {name!r} "
                             "fixes its input (drop the dataset)")
        return from_onnx(name, batch=batch)
    graph = classic(name, batch=batch)
    if dataset is not None and not (isinstance(dataset, str) and dataset.lower() == "imagenet"):
        # the classic CNNs are ImageNet networks (224x224, 227 for AlexNet); another data set would be ignored
        raise ValueError(f"dataset={dataset!r} applies to nb201:/fbnet:/darts: networks only; {name!r} is an ImageNet network "
                         "with a fixed input size (drop the dataset)")
    return graph


__all__ = [
    "OPS", "Layer", "LayerGraph", "concat", "conv2d", "elementwise", "global_avgpool", "linear", "pool", "scale",
    "nasbench201", "nasbench201_arch_strings", "read_index_file", "get", "fbnet", "darts", "classic", "from_onnx",
]


def __getattr__(attr):
    # Lazy so that importing accelmodel does not import onnx.
    if attr == "from_onnx":
        from .onnx import from_onnx
        return from_onnx
    raise AttributeError(f"module 'accelmodel.workloads' has no attribute {attr!r}")
