"""Learned, differentiable hardware-cost predictors trained on accelmodel's own data sets (issue 17).

    >>> from accelmodel import datasets, predictor
    >>> frame = datasets.build("darts", "fpga-e2e-large", sample=10_000, seed=0)
    >>> p = predictor.fit(frame, target="throughput_fps")           # space, dataset and spec from frame.attrs
    >>> p.predict(["DARTS_V2"]), p.evaluate(test_frame).mape
    >>> p.save("darts-pipeline.npz"); p = predictor.load("darts-pipeline.npz")
    >>> module = p.torch_module()     # torch.nn.Module: architecture weights -> expected throughput, with gradients

Modules: `encoding` (networks as one-hot choice rows), `slots` (each slot costed alone on the spec's mapper: the
analytical features and the training-free baseline), `model` (`fit`, `Predictor`, `load`), `differentiable`
(the torch module and each space's relaxation of architecture weights; needs the ``learned`` extra).
"""

from .encoding import Encoding
from .model import FEATURES, FORMAT, MIN_MLP_NETWORKS, MODELS, VERSION, Predictor, fit, load
from .slots import TARGETS, SlotCosts, slot_costs

__all__ = ["fit", "load", "Predictor", "Encoding", "TARGETS", "MODELS", "FEATURES", "FORMAT", "VERSION",
           "MIN_MLP_NETWORKS", "SlotCosts", "slot_costs"]
