"""The predictor as a `torch.nn.Module` of continuous architecture weights (needs the ``learned`` extra).

``module(weights)`` returns the expected target (latency_ms, throughput_fps or energy_mj) of the architecture
distribution `weights`, differentiable in them, so ``task_loss + lam * module(weights)`` works in a DARTS-style
search. The predictor's parameters are fixed buffers (no gradients to them). On one-hot weights the module
returns exactly what `Predictor.predict` returns for that network.

Architecture weights per space (leading batch dimensions allowed; each distribution must sum to 1):

- ``nasbench201``: ``[..., 6, 5]``: per cell edge, the probabilities of `workloads.nasbench201.OPS`.
- ``fbnet``: ``[..., 22, 9]``: per position, the probabilities of the 9 blocks.
- ``darts``: ``[..., 2, 14, 8]``: DARTS' ``softmax(alphas_normal)`` and ``softmax(alphas_reduce)``, per
  candidate edge (`workloads.darts.EDGES` order) the probabilities of `PRIMITIVES`. DARTS derives a network by
  keeping, per node, the two edges whose strongest op other than ``none`` is strongest, each with that op. The
  relaxation: an edge's strength is its probability of not being ``none``; the node draws two edges without
  replacement in proportion to their strengths (Plackett-Luce), so edge e is kept with probability
  ``w_e/W + sum_{f != e} (w_f/W) * w_e/(W - w_f)`` (two edges in total, each at most 1; a node of two edges keeps
  both); a kept edge runs its ops in proportion to their probabilities without ``none``. One-hot alphas with
  two non-``none`` edges per node are exactly a derived network. (A genotype's explicit ``none`` op is thus
  read as an absent edge, as EH-DNAS's edge vectors write it; sampled training networks never hold one.)
- another registered space: ``[..., variables, choices]`` when every variable has as many choices, else the
  flat one-hot width ``[..., sum of choices]``; `register_relaxation` adds a space's own.

The expected value: the additive parts (the per-op terms and the sum of slot costs) are linear, so they are
exact expectations under independent choices; the largest-slot feature is the exact expectation of the maximum
over independent variables (from the product of their CDFs); the MLP is evaluated on the expected inputs (a
relaxation, exact on one-hot weights).
"""

from __future__ import annotations

import importlib
from typing import Callable

import numpy as np

try:
    import torch
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("Predictor.torch_module needs PyTorch: pip install 'accelmodel[learned]'") from exc

from .model import Predictor
from .slots import from_cost

#: Tolerance of the checks that each distribution is non-negative and sums to 1.
TOLERANCE = 1e-4
#: Floor of a DARTS edge's strength, so that a node whose edges are all ``none`` still draws two of them.
DARTS_EPS = 1e-6

#: space name -> (shape of one architecture's weights, function weights [B, *shape] -> one-hot rows [B, width])
RELAXATIONS: dict[str, tuple[tuple[int, ...], Callable]] = {}


def register_relaxation(space: str, shape: tuple[int, ...], relax: Callable) -> None:
    """Make `CostModule` read `space`'s architecture weights of `shape` through `relax` (see `darts_rows`)."""
    RELAXATIONS[space] = (tuple(shape), relax)


def _check_distributions(p: torch.Tensor, what: str) -> None:
    p = p.detach()
    low = float(p.min()) if p.numel() else 0.0
    sums = p.sum(dim=-1)
    worst = float((sums - 1).abs().max()) if sums.numel() else 0.0
    if low < -TOLERANCE or worst > TOLERANCE:
        raise ValueError(f"{what}: each distribution must be non-negative and sum to 1 (e.g. a softmax); found a "
                         f"minimum of {low:.3g} and a sum off by {worst:.3g}")


def darts_rows(alphas: torch.Tensor) -> torch.Tensor:
    """DARTS architecture weights [B, 2, 14, 8] -> the predictor's one-hot rows [B, 28 x 9] (module docstring)."""
    darts_mod = importlib.import_module("accelmodel.workloads.darts")   # the package binds `darts` to the builder
    _check_distributions(alphas, "DARTS weights [..., 2, 14, 8]")
    batch = alphas.shape[0]
    strength = (1.0 - alphas[..., 0]).clamp_min(0.0) + DARTS_EPS                    # [B, 2, 14]
    kept = []
    for k in range(darts_mod.STEPS):
        first = darts_mod.EDGE_INDEX[(k, 0)]
        w = strength[..., first:first + k + 2]
        total = w.sum(dim=-1, keepdim=True)
        second = (w / total) / (total - w)
        kept.append(w / total + w * (second.sum(dim=-1, keepdim=True) - second))
    kept = torch.cat(kept, dim=-1).clamp(max=1.0)                                      # [B, 2, 14]
    ops = alphas[..., 1:] + DARTS_EPS / (alphas.shape[-1] - 1)
    ops = ops / ops.sum(dim=-1, keepdim=True)                                          # [B, 2, 14, 7]
    rows = torch.cat([(1.0 - kept).unsqueeze(-1), torch.zeros_like(kept).unsqueeze(-1),
                      kept.unsqueeze(-1) * ops], dim=-1)                               # absent, none, 7 ops
    return rows.reshape(batch, -1)


register_relaxation("darts", (2, 14, 8), darts_rows)


class CostModule(torch.nn.Module):
    """Expected target of architecture weights (see the module docstring); `Predictor.torch_module()`."""

    def __init__(self, predictor: Predictor, dtype=None):
        super().__init__()
        dtype = dtype or torch.get_default_dtype()
        enc = predictor.encoding
        self.space, self.target = enc.space, predictor.target
        self.width, self.n_choices = enc.width, enc.n_choices
        if enc.space in RELAXATIONS:
            self.shape, self._relax = RELAXATIONS[enc.space]
        elif len(set(enc.n_choices)) == 1:
            self.shape, self._relax = (enc.n_variables, enc.n_choices[0]), self._per_variable
        else:
            self.shape, self._relax = (enc.width,), self._flat

        def buffer(name, value):
            self.register_buffer(name, torch.as_tensor(np.asarray(value, dtype=np.float64), dtype=dtype))

        columns = np.concatenate([np.full(n, v) for v, n in enumerate(enc.n_choices)])
        choice = np.concatenate([np.arange(n) for n in enc.n_choices])
        self.analytic = predictor.slot_total is not None
        buffer("ridge_coef", predictor.ridge[0])
        buffer("ridge_intercept", predictor.ridge[1])
        if self.analytic:
            largest = predictor.slot_largest[columns, choice]
            thresholds = np.unique(largest)
            membership = np.zeros((enc.width, enc.n_variables))
            membership[np.arange(enc.width), columns] = 1.0
            buffer("slot_total", predictor.slot_total[columns, choice])
            buffer("thresholds", thresholds)
            buffer("below", (largest[None, :] <= thresholds[:, None]).astype(np.float64))   # [J, width]
            buffer("membership", membership)
            buffer("z_mean", predictor.z_mean)
            buffer("z_std", predictor.z_std)
        self.n_mlp = len(predictor.mlp)
        for i, (w, b) in enumerate(predictor.mlp):
            buffer(f"mlp_w{i}", w)
            buffer(f"mlp_b{i}", b)
        buffer("mlp_scale", predictor.mlp_scale)

    def _per_variable(self, weights: torch.Tensor) -> torch.Tensor:
        _check_distributions(weights, f"{self.space} weights [..., {self.shape[0]}, {self.shape[1]}]")
        return weights.reshape(weights.shape[0], -1)

    def _flat(self, weights: torch.Tensor) -> torch.Tensor:
        offsets = np.concatenate([[0], np.cumsum(self.n_choices)])
        for v in range(len(self.n_choices)):
            _check_distributions(weights[:, offsets[v]:offsets[v + 1]], f"{self.space} weights of variable {v}")
        return weights

    def rows(self, weights: torch.Tensor) -> torch.Tensor:
        """The expected one-hot rows [B, width] of architecture weights [..., *shape] (batch flattened)."""
        if not isinstance(weights, torch.Tensor):
            raise TypeError(f"weights must be a torch.Tensor of shape [..., {', '.join(map(str, self.shape))}], "
                            f"got {type(weights).__name__}")
        k = len(self.shape)
        if tuple(weights.shape[weights.dim() - k:]) != self.shape or weights.dim() < k:
            raise ValueError(f"{self.space} weights must have shape [..., {', '.join(map(str, self.shape))}], got "
                             f"{list(weights.shape)}")
        weights = weights.to(self.ridge_coef.dtype).reshape(-1, *self.shape)
        return self._relax(weights)

    def forward(self, weights: torch.Tensor) -> torch.Tensor:
        lead = weights.shape[:weights.dim() - len(self.shape)] if isinstance(weights, torch.Tensor) else ()
        x = self.rows(weights)
        inputs = x
        if self.analytic:
            total = x @ self.slot_total
            # E[max over variables]: P(max <= t_j) is the product over variables of P(variable <= t_j)
            cdf = ((x.unsqueeze(1) * self.below.unsqueeze(0)) @ self.membership).prod(dim=-1)     # [B, J]
            step = torch.diff(cdf, dim=-1, prepend=torch.zeros_like(cdf[:, :1]))
            largest = step @ self.thresholds
            z = (torch.stack([total, largest], dim=-1) - self.z_mean) / self.z_std
            inputs = torch.cat([x, z], dim=-1)
        cost = inputs @ self.ridge_coef + self.ridge_intercept
        if self.n_mlp:
            h = inputs
            for i in range(self.n_mlp):
                h = h @ getattr(self, f"mlp_w{i}") + getattr(self, f"mlp_b{i}")
                if i < self.n_mlp - 1:
                    h = torch.relu(h)
            cost = cost + self.mlp_scale * h[:, 0]
        return from_cost(self.target, cost).reshape(lead)

    def extra_repr(self) -> str:
        return f"space={self.space!r}, target={self.target!r}, weights=[..., {', '.join(map(str, self.shape))}]"
