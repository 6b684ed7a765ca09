"""`fit` and `Predictor`: a hardware-cost predictor learned from a `datasets.build` frame.

The model, in the target's additive unit (ms, mJ, or ms per frame for throughput; `slots.to_cost`):

    cost(x) = ridge([x, z]) + s * mlp([x, z])

- x: the network's choices one-hot (`encoding`); z: two analytical features from the spec's own mapper, the sum
  and the largest of the network's slots costed alone (`slots`), standardised. On a layer-additive mapper the sum
  is the network's cost up to a constant, so the ridge part is exact; on the chunk pipeline the period is set by
  the slowest stage, which neither a sum nor one-hot weights express, and the largest slot alone bounds it.
- ridge: a linear model: first the physical part (intercept + the two features, least squares: it needs only a
  handful of networks), then per-op corrections to its residual (scikit-learn's RidgeCV, its penalty chosen by
  efficient leave-one-out);
- mlp: scikit-learn's MLPRegressor (ReLU) fitted to the ridge part's residual (scaled by `s`, its standard
  deviation), with early stopping; kept only when it lowers the error on networks held out of its fit (from
  `MIN_MLP_NETWORKS` training networks on).

Beside it the predictor keeps two baselines on the same footing: ``"lut"``, the per-op lookup table (an additive
model: the sum of fitted per-slot op costs, least squares on one-hot x), and ``"isolated"``, the analytical one:
the fixed layers plus every slot costed alone (HW-NAS-Bench's per-block method; no training).

Files (`save` / `load`): one ``.npz`` of plain arrays and a JSON header (format name and version); read with
``allow_pickle=False``, so a file can never run code.
"""

from __future__ import annotations

import io
import json
import os
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .encoding import Encoding
from .slots import SlotCosts, check_target, from_cost, slot_costs, to_cost

FORMAT = "accelmodel-predictor"
VERSION = 1
MODELS = ("learned", "lut", "isolated")
FEATURES = ("analytic", "one-hot")
#: Below this many training networks the non-additive part is not fitted (too few to fit it and check it).
MIN_MLP_NETWORKS = 100
RIDGE_ALPHAS = tuple(np.logspace(-6, 3, 10))
#: A linear part whose largest relative error on the training networks is below this is exact (a layer-additive
#: mapper: what is left is rounding), and no MLP is fitted to the rounding.
EXACT = 1e-9


@dataclass
class Predictor:
    """A fitted predictor of one target of one space and data set on one spec; see the module docstring."""

    encoding: Encoding
    target: str
    arch: str | None
    budget: dict | None
    features: str
    lut: tuple[np.ndarray, float]                       # per-op lookup table: (coef over one-hot, intercept)
    ridge: tuple[np.ndarray, float]                     # over [one-hot, z]
    z_mean: np.ndarray
    z_std: np.ndarray
    slot_total: np.ndarray | None                       # (variables x choices), see slots.SlotCosts
    slot_largest: np.ndarray | None
    slot_fixed: float
    mlp: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    mlp_scale: float = 0.0
    coverage: np.ndarray | None = None                  # training networks per one-hot column
    info: dict = field(default_factory=dict)

    # ---- prediction ------------------------------------------------------------------------------------

    @property
    def space(self) -> str:
        return self.encoding.space

    @property
    def dataset(self) -> str:
        return self.encoding.dataset

    def predict(self, archs, model: str = "learned") -> np.ndarray:
        """Predicted target of `archs` (spelled as `datasets.build` takes them for this space)."""
        return self.predict_choices(self.encoding.choices_of_archs(archs), model)

    def predict_choices(self, choices, model: str = "learned") -> np.ndarray:
        """Predicted target of the rows of a (networks x variables) choice matrix."""
        return from_cost(self.target, self._cost(self.encoding.check_choices(choices), model))

    def _cost(self, choices: np.ndarray, model: str) -> np.ndarray:
        if model not in MODELS:
            raise ValueError(f"model {model!r} is not one of {list(MODELS)}")
        x = self.encoding.one_hot(choices)
        if model == "lut":
            return x @ self.lut[0] + self.lut[1]
        if self.slot_total is None and model == "isolated":
            raise ValueError("model 'isolated' needs the analytical slot costs; this predictor was fitted with "
                             "features='one-hot'")
        total, largest = self._slot_features(choices)
        if model == "isolated":
            return self.slot_fixed + total
        inputs = self._inputs(x, total, largest)
        return inputs @ self.ridge[0] + self.ridge[1] + self.mlp_scale * _mlp_forward(self.mlp, inputs)

    def _slot_features(self, choices):
        if self.slot_total is None:
            return None, None
        v = np.arange(choices.shape[1])[None, :]
        return self.slot_total[v, choices].sum(axis=1), self.slot_largest[v, choices].max(axis=1)

    def _inputs(self, x, total, largest) -> np.ndarray:
        if total is None:
            return x
        z = (np.column_stack([total, largest]) - self.z_mean) / self.z_std
        return np.hstack([x, z])

    def evaluate(self, frame: pd.DataFrame, model: str = "learned", rank_resolution="auto"):
        """Agreement (`accelmodel.validation.stats.Agreement`: Kendall tau-b, Spearman, Pearson, MAPE, ...) of
        the predictions with a frame's `target` column.

        `rank_resolution`: both series are rounded to this step before the rank correlations (`stats.agreement`);
        ``"auto"`` (default) is 1e-6 x the median reference value, so that networks the analytical model costs the
        same (NAS-Bench-201's isomorphic cells, FBNet's pipelines bound by one stage: many exact ties) stay tied
        where floating-point sums in another order split them; None: no rounding."""
        from ..validation.stats import agreement

        self._check_frame(frame)
        reference = _target_values(frame, self.target)
        predicted = self.predict_choices(self.encoding.choices_of_frame(frame), model)
        if isinstance(rank_resolution, str):
            if rank_resolution != "auto":
                raise ValueError(f"rank_resolution must be 'auto', None or a step > 0, got {rank_resolution!r}")
            rank_resolution = 1e-6 * float(np.median(reference))
        return agreement(predicted, reference, rank_resolution=rank_resolution)

    def _check_frame(self, frame: pd.DataFrame) -> None:
        attrs = frame.attrs
        for key, mine in (("space", self.space), ("dataset", self.dataset), ("arch", self.arch)):
            theirs = attrs.get(key)
            if theirs is not None and mine is not None and theirs != mine:
                raise ValueError(f"frame was built with {key} {theirs!r}; this predictor is for {key} {mine!r}")
        if self.features == "analytic" and "budget" in attrs and (attrs["budget"] or None) != (self.budget or None):
            raise ValueError(f"frame was built with budget {attrs['budget']!r}; this predictor's slot costs are for "
                             f"budget {self.budget!r}")

    # ---- torch -----------------------------------------------------------------------------------------

    def torch_module(self, dtype=None):
        """A `torch.nn.Module` whose forward takes continuous architecture weights and returns the expected
        target, with gradients (`accelmodel.predictor.differentiable`; needs the ``learned`` extra)."""
        from .differentiable import CostModule

        return CostModule(self, dtype=dtype)

    # ---- files -----------------------------------------------------------------------------------------

    def save(self, path) -> str:
        """Write the predictor to `path` (``.npz``): plain arrays and a JSON header, no pickles."""
        path = os.fspath(path)
        if not path.endswith(".npz"):
            raise ValueError(f"predictor files end in .npz, got {path!r}")
        header = {"format": FORMAT, "version": VERSION, "space": self.space, "dataset": self.dataset,
                  "n_choices": list(self.encoding.n_choices), "target": self.target, "arch": self.arch,
                  "budget": self.budget, "features": self.features, "lut_intercept": float(self.lut[1]),
                  "ridge_intercept": float(self.ridge[1]), "slot_fixed": float(self.slot_fixed),
                  "mlp_layers": len(self.mlp), "mlp_scale": float(self.mlp_scale), "info": self.info}
        arrays = {"header": np.array(json.dumps(header, default=_json_default)), "lut_coef": self.lut[0],
                  "ridge_coef": self.ridge[0], "z_mean": self.z_mean, "z_std": self.z_std,
                  "coverage": self.coverage if self.coverage is not None else np.zeros(0)}
        if self.slot_total is not None:
            arrays.update(slot_total=self.slot_total, slot_largest=self.slot_largest)
        for i, (w, b) in enumerate(self.mlp):
            arrays[f"mlp_w{i}"], arrays[f"mlp_b{i}"] = w, b
        from ..datasets import atomic_write_bytes

        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write_bytes(path, buffer.getvalue())
        return path


def load(path) -> Predictor:
    """Read a predictor written by `Predictor.save` (refuses other files, and newer format versions)."""
    path = os.fspath(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a predictor file ({exc})") from None
    try:
        header = json.loads(str(arrays.pop("header")))
    except (KeyError, json.JSONDecodeError):
        raise ValueError(f"{path}: not a predictor file (no JSON header)") from None
    if header.get("format") != FORMAT:
        raise ValueError(f"{path}: format {header.get('format')!r} is not {FORMAT!r}")
    if not isinstance(header.get("version"), int) or header["version"] > VERSION:
        raise ValueError(f"{path}: predictor format version {header.get('version')!r}; this accelmodel reads "
                         f"up to {VERSION}")
    try:
        encoding = Encoding(header["space"], header["dataset"], tuple(int(n) for n in header["n_choices"]))
        mlp = [(arrays[f"mlp_w{i}"], arrays[f"mlp_b{i}"]) for i in range(int(header["mlp_layers"]))]
        predictor = Predictor(
            encoding=encoding, target=check_target(header["target"]), arch=header["arch"], budget=header["budget"],
            features=header["features"], lut=(arrays["lut_coef"], float(header["lut_intercept"])),
            ridge=(arrays["ridge_coef"], float(header["ridge_intercept"])), z_mean=arrays["z_mean"],
            z_std=arrays["z_std"], slot_total=arrays.get("slot_total"), slot_largest=arrays.get("slot_largest"),
            slot_fixed=float(header["slot_fixed"]), mlp=mlp, mlp_scale=float(header["mlp_scale"]),
            coverage=arrays["coverage"] if arrays["coverage"].size else None, info=header.get("info", {}))
    except KeyError as exc:
        raise ValueError(f"{path}: predictor file lacks {exc}") from None
    _check_shapes(predictor, path)
    return predictor


def _check_shapes(p: Predictor, path: str) -> None:
    width = p.encoding.width
    n_z = 0 if p.slot_total is None else 2
    problems = []
    if p.lut[0].shape != (width,):
        problems.append(f"lut_coef {p.lut[0].shape} != ({width},)")
    if p.ridge[0].shape != (width + n_z,):
        problems.append(f"ridge_coef {p.ridge[0].shape} != ({width + n_z},)")
    if p.slot_total is not None:
        shape = (p.encoding.n_variables, max(p.encoding.n_choices))
        for name, table in (("slot_total", p.slot_total), ("slot_largest", p.slot_largest)):
            if table is None or table.shape != shape:
                problems.append(f"{name} {None if table is None else table.shape} != {shape}")
    inputs = width + n_z
    for i, (w, b) in enumerate(p.mlp):
        if w.ndim != 2 or w.shape[0] != inputs or b.shape != (w.shape[1],):
            problems.append(f"mlp layer {i}: weights {w.shape}, bias {b.shape} after {inputs} inputs")
        inputs = w.shape[1] if w.ndim == 2 else inputs
    if p.mlp and inputs != 1:
        problems.append(f"mlp ends in {inputs} outputs, not 1")
    if problems:
        raise ValueError(f"{path}: inconsistent predictor file: " + "; ".join(problems))


def _json_default(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _mlp_forward(layers, inputs: np.ndarray) -> np.ndarray:
    if not layers:
        return np.zeros(len(inputs))
    h = inputs
    for w, b in layers[:-1]:
        h = np.maximum(h @ w + b, 0.0)
    w, b = layers[-1]
    return (h @ w + b)[:, 0]


def _target_values(frame: pd.DataFrame, target: str) -> np.ndarray:
    check_target(target)
    if target not in frame:
        raise ValueError(f"frame has no {target!r} column (columns: {list(frame.columns)})")
    values = frame[target].to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values) | (values <= 0))
    if bad.size:
        raise ValueError(f"{target} must be finite and > 0; rows {bad[:10].tolist()} are not "
                         f"({values[bad[:3]].tolist()})")
    return values


# ---- fitting ---------------------------------------------------------------------------------------------

def fit(frame: pd.DataFrame, space: str | None = None, target: str = "latency_ms", *, dataset: str | None = None,
        arch=None, budget: dict | None = None, features: str = "analytic", hidden=(128, 128),
        max_epochs: int | None = None, seed: int = 0) -> Predictor:
    """Fit a predictor of `target` on a `datasets.build` frame (NAS-Bench-201, FBNet, DARTS; any spec).

    - `space`, `dataset`: default to the frame's (``frame.attrs``, which `datasets.build` sets).
    - `target`: ``latency_ms``, ``throughput_fps`` or ``energy_mj`` (a column of the frame).
    - `features`: ``analytic`` (default) adds the sum and the largest of the network's slots costed alone on the
      spec (`arch` and `budget`, default the frame's; the build's objective and batch) to the one-hot input;
      ``one-hot`` learns from the choices alone (for frames that come from elsewhere).
    - `hidden`: the MLP's hidden layer widths; `max_epochs`: its epoch cap (default by training size);
      `seed`: the validation split and the MLP's initial weights.
    """
    from sklearn.linear_model import RidgeCV

    start = time.perf_counter()
    attrs = frame.attrs
    space = space if space is not None else attrs.get("space")
    if space is None:
        raise ValueError("space is not given and the frame's attrs name none (pass space='darts', ...)")
    check_target(target)
    if features not in FEATURES:
        raise ValueError(f"features {features!r} is not one of {list(FEATURES)}")
    encoding = Encoding.of(space, dataset if dataset is not None else attrs.get("dataset"))
    if attrs.get("space") not in (None, encoding.space) or attrs.get("dataset") not in (None, encoding.dataset):
        raise ValueError(f"frame was built for {attrs.get('space')!r} / {attrs.get('dataset')!r}, not "
                         f"{encoding.space!r} / {encoding.dataset!r}")
    if len(frame) < 2:
        raise ValueError(f"fit needs at least 2 networks, the frame has {len(frame)}")
    cost = to_cost(target, _target_values(frame, target))
    choices = encoding.choices_of_frame(frame)
    x = encoding.one_hot(choices)

    slots: SlotCosts | None = None
    if features == "analytic":
        arch = arch if arch is not None else attrs.get("arch")
        if arch is None:
            raise ValueError("features='analytic' needs the spec: pass arch= (and budget= if the build had one), "
                             "or features='one-hot'")
        budget = budget if budget is not None else attrs.get("budget")
        slots = slot_costs(encoding.space, encoding.dataset, arch, budget, attrs.get("objective"),
                           int(attrs.get("batch", 1)), target)
        arch = arch if isinstance(arch, str) else getattr(arch, "name", str(arch))
    elif arch is None:
        arch = attrs.get("arch")

    lut = RidgeCV(alphas=RIDGE_ALPHAS).fit(x, cost)
    predictor = Predictor(
        encoding=encoding, target=target, arch=arch, budget=budget, features=features,
        lut=(lut.coef_.astype(np.float64), float(lut.intercept_)), ridge=(np.zeros(0), 0.0),
        z_mean=np.zeros(0), z_std=np.zeros(0),
        slot_total=None if slots is None else slots.total, slot_largest=None if slots is None else slots.largest,
        slot_fixed=0.0 if slots is None else slots.fixed, coverage=x.sum(axis=0))
    total, largest = predictor._slot_features(choices)
    if total is not None:
        z = np.column_stack([total, largest])
        predictor.z_mean = z.mean(axis=0)
        std = z.std(axis=0)
        predictor.z_std = np.where(std > 0, std, 1.0)                 # a constant feature stays constant
        inputs = predictor._inputs(x, total, largest)
        # the physical part first, unpenalised (three coefficients: fits from a handful of networks), then
        # per-op corrections to its residual, penalised as much as leave-one-out asks
        design = np.column_stack([np.ones(len(cost)), inputs[:, -2:]])
        physical = np.linalg.lstsq(design, cost, rcond=None)[0]
        ridge = RidgeCV(alphas=RIDGE_ALPHAS).fit(x, cost - design @ physical)
        predictor.ridge = (np.concatenate([ridge.coef_, physical[1:]]).astype(np.float64),
                           float(physical[0] + ridge.intercept_))
    else:
        inputs = x
        predictor.ridge = predictor.lut
    info = {"n_train": len(frame), "ridge_alpha": float(lut.alpha_), "mlp": "not fitted (fewer than "
            f"{MIN_MLP_NETWORKS} networks)"}
    residual = cost - (inputs @ predictor.ridge[0] + predictor.ridge[1])
    if np.max(np.abs(residual) / cost) < EXACT:
        info["mlp"] = "not fitted (the linear part is exact on the training networks)"
    elif len(frame) >= MIN_MLP_NETWORKS:
        info.update(_fit_mlp(predictor, inputs, cost, hidden, max_epochs, seed))
    info["fit_seconds"] = time.perf_counter() - start
    predictor.info = info
    return predictor


def _fit_mlp(p: Predictor, inputs: np.ndarray, cost: np.ndarray, hidden, max_epochs, seed) -> dict:
    """The non-additive part on the ridge residual; kept when it beats the ridge part on held-out networks."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    n = len(cost)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_val = max(10, n // 10)
    val, train = order[:n_val], order[n_val:]
    base = inputs @ p.ridge[0] + p.ridge[1]
    residual = cost - base
    # the residual's own scale (floored: on an additive mapper it is rounding noise, which must not be blown up)
    scale = max(float(residual[train].std()), 1e-9 * float(np.abs(cost).mean()))
    if max_epochs is None:
        max_epochs = int(np.clip(3e6 / n, 40, 400))
    mlp = MLPRegressor(hidden_layer_sizes=tuple(hidden), activation="relu", solver="adam", alpha=1e-5,
                       batch_size=min(256 if n <= 20_000 else 1024, int(0.9 * len(train))), learning_rate_init=1e-3,
                       max_iter=max_epochs, early_stopping=True, validation_fraction=0.1, n_iter_no_change=15,
                       tol=1e-6, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(inputs[train], residual[train] / scale)
    layers = [(w.astype(np.float64), b.astype(np.float64)) for w, b in zip(mlp.coefs_, mlp.intercepts_)]
    reference = from_cost(p.target, cost[val])
    without = _mape(from_cost(p.target, base[val]), reference)
    with_mlp = _mape(from_cost(p.target, base[val] + scale * _mlp_forward(layers, inputs[val])), reference)
    out = {"mlp_epochs": int(mlp.n_iter_), "held_out": int(n_val), "held_out_mape_ridge": without,
           "held_out_mape_learned": with_mlp}
    if with_mlp < without:
        p.mlp, p.mlp_scale = layers, scale
        out["mlp"] = f"kept ({len(hidden)} hidden layers {list(hidden)})"
    else:
        out["mlp"] = "dropped (did not lower the held-out error)"
    return out


def _mape(predicted, reference) -> float:
    return float(np.mean(np.abs(predicted - reference) / reference))
