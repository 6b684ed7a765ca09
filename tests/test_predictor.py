"""accelmodel.predictor: the learned, differentiable cost predictor (issue 17).

Headline figures at a size CI affords (the report's section 6 has the full table, 10 .. 100,000 networks):
DARTS on EH-DNAS's large budgets (pipeline throughput MAPE <= 4 %, generic <= 2 %), NAS-Bench-201 and FBNet on
fpga-zc706 (Kendall tau-b >= 0.95 from 1,000 training networks), all on held-out networks.
"""

import importlib.util
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelmodel import datasets, predictor
from accelmodel.predictor import model as pmodel
from accelmodel.workloads import darts as _darts_builder  # noqa: F401  (the package binds the builder)

darts_mod = importlib.import_module("accelmodel.workloads.darts")


@pytest.fixture(scope="session")
def torch():
    """torch, or a failure under CI=true (.ci/run installs the `learned` extra), else a skip."""
    if importlib.util.find_spec("torch") is None:
        msg = "torch is not installed (pip install -e '.[learned]')"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    import torch

    return torch


def _split(frame, n_train):
    return frame.iloc[:n_train], frame.iloc[n_train:]


@pytest.fixture(scope="module")
def darts_pipeline():
    return _split(datasets.build("darts", "fpga-e2e-large", sample=3_000, seed=1), 2_000)


@pytest.fixture(scope="module")
def darts_generic():
    return _split(datasets.build("darts", "generic-large", sample=2_000, seed=1), 1_000)


@pytest.fixture(scope="module")
def nb201_fpga():
    archs = list(range(3_000))              # NAS-Bench-201's index order is a random shuffle of the cells
    return _split(datasets.build("nasbench201", "fpga-zc706", "cifar10", archs=archs), 1_000)


@pytest.fixture(scope="module")
def fbnet_fpga():
    return _split(datasets.build("fbnet", "fpga-zc706", "cifar100", sample=3_000, seed=1), 1_000)


# ---- headline figures ------------------------------------------------------------------------------------

def test_darts_pipeline_throughput_mape(darts_pipeline):
    train, test = darts_pipeline
    p = predictor.fit(train, target="throughput_fps")
    learned = p.evaluate(test)
    assert learned.mape <= 0.04                     # issue 17 (EH-DNAS: 7.9 %); measured 0.5 %
    assert learned.kendall_tau >= 0.9


def test_darts_generic_throughput_mape(darts_generic):
    train, test = darts_generic
    p = predictor.fit(train, target="throughput_fps")
    assert p.evaluate(test).mape <= 0.02            # issue 17 (EH-DNAS: 3.6 %); layer-additive: exact
    assert p.evaluate(test).mape <= 1e-6


@pytest.mark.parametrize("case", ["nb201_fpga", "fbnet_fpga"])
def test_fpga_latency_rank_from_1000(case, request):
    train, test = request.getfixturevalue(case)
    p = predictor.fit(train, target="latency_ms")
    a = p.evaluate(test)
    assert a.kendall_tau >= 0.95 and a.spearman >= 0.99


@pytest.mark.parametrize("case, bound", [("nb201_fpga", 0.03), ("fbnet_fpga", 0.01)])
def test_pipeline_throughput_beats_the_lookup_table(case, bound, request):
    """The chunk pipeline's throughput is set by its slowest stage, which no per-op table expresses: the
    per-op LUT is 10-20 % off where the learned model is within `bound` (measured 1.5 % and 0.0 %)."""
    train, test = request.getfixturevalue(case)
    p = predictor.fit(train, target="throughput_fps")
    learned, lut = p.evaluate(test), p.evaluate(test, "lut")
    assert learned.mape <= bound
    assert lut.mape >= 0.05 and learned.mape < lut.mape / 3


# ---- the analytical part ---------------------------------------------------------------------------------

@pytest.mark.parametrize("space, arch, dataset, target", [
    ("darts", "generic-large", "cifar10", "throughput_fps"),
    ("darts", "generic-small", "cifar10", "energy_mj"),
    ("nasbench201", "eyeriss-hwnasbench", "cifar10", "latency_ms"),    # the spec's NB201 conventions apply
    ("fbnet", "fpga-zc706", "cifar100", "latency_ms"),                  # the layerwise figure is additive
])
def test_isolated_slots_are_exact_where_cost_is_additive(space, arch, dataset, target):
    kw = {"archs": list(range(40))} if space == "nasbench201" else {"sample": 40, "seed": 3}
    frame = datasets.build(space, arch, dataset, **kw)
    p = predictor.fit(frame, target=target)
    np.testing.assert_allclose(p.predict_choices(p.encoding.choices_of_frame(frame), "isolated"), frame[target],
                               rtol=1e-9)
    # the physical part alone then fits from a handful of networks
    few = predictor.fit(frame.iloc[:5], target=target)
    assert few.evaluate(frame.iloc[5:]).mape < 1e-6


def test_fbnet_pipeline_period_is_its_slowest_slot(fbnet_fpga):
    """Known structure of the ZC706 pipeline on FBNet (dense engine, depthwise layers on one lane): the period
    is the slowest block's period alone; the largest-slot feature carries it."""
    train, _ = fbnet_fpga
    p = predictor.fit(train.iloc[:50], target="throughput_fps")
    choices = p.encoding.choices_of_frame(train)
    _, largest = p._slot_features(choices)
    np.testing.assert_allclose(largest, 1e3 / train["throughput_fps"], rtol=1e-9)


def test_encoding_widths():
    widths = {"nasbench201": (6, 5), "fbnet": (22, 9), "darts": (28, 9)}
    for space, (v, k) in widths.items():
        enc = predictor.Encoding.of(space)
        assert enc.n_choices == (k,) * v and enc.width == v * k


# ---- the API ---------------------------------------------------------------------------------------------

def test_predict_takes_archs_as_build_does(darts_generic, nb201_fpga, fbnet_fpga):
    train, _ = darts_generic
    p = predictor.fit(train, target="latency_ms")
    code = darts_mod.encode(darts_mod.DARTS_V2)
    built = datasets.build("darts", "generic-large", archs=["DARTS_V2"])["latency_ms"].iloc[0]
    values = p.predict(["DARTS_V2", darts_mod.DARTS_V2, code, darts_mod.to_edge_vector(darts_mod.DARTS_V2)])
    np.testing.assert_allclose(values, built, rtol=1e-6)
    train, _ = nb201_fpga
    p = predictor.fit(train, target="latency_ms")
    arch = train["arch_str"].iloc[0]
    np.testing.assert_allclose(p.predict([int(train["index"].iloc[0]), arch]), train["latency_ms"].iloc[0],
                               rtol=1e-6)
    train, _ = fbnet_fpga
    p = predictor.fit(train, target="throughput_fps")
    assert p.predict([list(train["op_idx_list"].iloc[0])]).shape == (1,)


def test_save_load_roundtrip(tmp_path, nb201_fpga):
    train, test = nb201_fpga
    p = predictor.fit(train, target="throughput_fps")
    path = p.save(tmp_path / "nb.npz")
    q = predictor.load(path)
    choices = p.encoding.choices_of_frame(test)
    for model in predictor.MODELS:
        np.testing.assert_array_equal(q.predict_choices(choices, model), p.predict_choices(choices, model))
    assert (q.space, q.dataset, q.target, q.arch) == ("nasbench201", "cifar10", "throughput_fps", "fpga-zc706")
    assert q.info["n_train"] == len(train)


def test_load_refuses_other_files(tmp_path, darts_generic):
    import pickle

    p = predictor.fit(darts_generic[0].iloc[:50], target="latency_ms")
    good = p.save(tmp_path / "p.npz")
    with np.load(good) as data:
        arrays = {k: data[k] for k in data.files}
    crafted = tmp_path / "pickled.npz"
    np.savez(crafted, **{**arrays, "ridge_coef": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(ValueError, match="pickled.npz"):
        predictor.load(crafted)
    plain = tmp_path / "plain.npz"
    with open(plain, "wb") as fh:
        pickle.dump({"format": pmodel.FORMAT}, fh)
    with pytest.raises(ValueError, match="not a predictor file"):
        predictor.load(plain)
    header = pmodel.json.loads(str(arrays["header"]))
    for change, match in (({"version": pmodel.VERSION + 1}, "version"), ({"format": "other"}, "format")):
        path = tmp_path / f"{next(iter(change))}.npz"
        np.savez(path, **{**arrays, "header": np.array(pmodel.json.dumps({**header, **change}))})
        with pytest.raises(ValueError, match=match):
            predictor.load(path)
    short = tmp_path / "short.npz"
    np.savez(short, **{**arrays, "lut_coef": arrays["lut_coef"][:-1]})
    with pytest.raises(ValueError, match="lut_coef"):
        predictor.load(short)
    with pytest.raises(ValueError, match=".npz"):
        p.save(tmp_path / "p.pickle")


def test_errors_name_what_is_wrong(darts_generic, darts_pipeline, nb201_fpga):
    train, _ = darts_generic
    with pytest.raises(ValueError, match="target 'fps'"):
        predictor.fit(train, target="fps")
    with pytest.raises(ValueError, match="features"):
        predictor.fit(train, features="both")
    with pytest.raises(ValueError, match="'code' column"):
        predictor.fit(train.drop(columns=["code"]))
    bad = train.copy()
    bad.loc[bad.index[3], "latency_ms"] = 0.0
    with pytest.raises(ValueError, match=r"rows \[3\]"):
        predictor.fit(bad)
    anonymous = pd.DataFrame(train)
    anonymous.attrs = {}
    with pytest.raises(ValueError, match="space is not given"):
        predictor.fit(anonymous)
    with pytest.raises(ValueError, match="arch="):
        predictor.fit(anonymous, space="darts")
    p = predictor.fit(anonymous.iloc[:200], space="darts", features="one-hot")      # learns from choices alone
    assert p.evaluate(anonymous.iloc[200:400]).mape < 0.1
    with pytest.raises(ValueError, match="'isolated' needs"):
        p.predict(["DARTS_V2"], "isolated")
    with pytest.raises(ValueError, match="model 'best'"):
        p.predict(["DARTS_V2"], "best")
    with pytest.raises(ValueError, match="built with arch 'fpga-e2e-large'; this predictor is for arch 'generic-large'"):
        predictor.fit(train.iloc[:50]).evaluate(darts_pipeline[1])
    with pytest.raises(ValueError, match="built with space 'nasbench201'"):
        predictor.fit(train.iloc[:50]).evaluate(nb201_fpga[1])
    small = datasets.build("darts", "generic-large", sample=60, seed=5, budget={"dsp": 1_000})
    with pytest.raises(ValueError, match="budget"):
        predictor.fit(train.iloc[:50]).evaluate(small)
    assert predictor.fit(small.iloc[:30]).evaluate(small.iloc[30:]).mape < 1e-6     # the budget comes along
    with pytest.raises(ValueError, match="variable 2"):
        p.predict_choices(np.array([[0, 0, 12] + [0] * 25]))


# ---- the torch module ------------------------------------------------------------------------------------

def _one_hot_weights(torch, module, choices):
    if module.space == "darts":
        w = torch.zeros(len(choices), 2, 14, 8, dtype=torch.float64)
        for i, row in enumerate(choices):
            for e, c in enumerate(row):
                w[i, e // 14, e % 14, 0 if c == 0 else c - 1] = 1.0        # an absent edge is `none`
        return w
    return torch.nn.functional.one_hot(torch.as_tensor(choices), module.shape[-1]).to(torch.float64)


@pytest.mark.parametrize("case, target", [("darts_pipeline", "throughput_fps"), ("darts_generic", "latency_ms"),
                                          ("nb201_fpga", "throughput_fps"), ("fbnet_fpga", "throughput_fps"),
                                          ("nb201_fpga", "energy_mj")])
def test_torch_module_reproduces_predict_on_one_hot(torch, case, target, request):
    train, test = request.getfixturevalue(case)
    p = predictor.fit(train, target=target)
    module = p.torch_module(dtype=torch.float64)
    choices = p.encoding.choices_of_frame(test.iloc[:64])
    out = module(_one_hot_weights(torch, module, choices)).numpy()
    # DARTS: the edge-selection relaxation floors strengths at 1e-6, so one-hot is exact to ~1e-6
    np.testing.assert_allclose(out, p.predict_choices(choices), rtol=1e-5 if p.space == "darts" else 1e-9)
    weights = torch.softmax(torch.randn(3, *module.shape, dtype=torch.float64), dim=-1).requires_grad_()
    value = module(weights)
    assert value.shape == (3,) and torch.isfinite(value).all()
    value.sum().backward()
    assert torch.isfinite(weights.grad).all() and weights.grad.abs().sum() > 0
    assert module(weights[0]).shape == ()                                    # one architecture: a scalar


def test_torch_gradient_of_an_additive_cost(torch, darts_generic):
    """On a layer-additive mapper the expected latency is linear in the op probabilities of a kept edge: its
    gradient is the difference of the ops' slot costs (finite differences agree)."""
    p = predictor.fit(darts_generic[0], target="latency_ms")
    module = p.torch_module(dtype=torch.float64)
    w = torch.softmax(torch.randn(2, 14, 8, dtype=torch.float64), dim=-1)
    direction = torch.zeros_like(w)
    direction[0, 0, 4], direction[0, 0, 1] = 1.0, -1.0                       # sep_conv_3x3 up, max_pool down
    w.requires_grad_()
    module(w).backward()
    analytic = float((w.grad * direction).sum())
    h = 1e-5
    numeric = float((module(w.detach() + h * direction) - module(w.detach() - h * direction)) / (2 * h))
    assert analytic == pytest.approx(numeric, rel=1e-4)
    assert analytic > 0                                                      # a separable conv costs more


def test_torch_module_checks_its_input(torch, darts_generic):
    module = predictor.fit(darts_generic[0].iloc[:100], target="latency_ms").torch_module()
    with pytest.raises(ValueError, match=r"\[\.\.\., 2, 14, 8\]"):
        module(torch.ones(2, 14, 7) / 7)
    with pytest.raises(ValueError, match="sum to 1"):
        module(torch.ones(2, 14, 8))
    with pytest.raises(TypeError, match="torch.Tensor"):
        module(np.ones((2, 14, 8)) / 8)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-6, 6), min_size=2 * 14 * 8, max_size=2 * 14 * 8), st.floats(0.1, 20))
def test_darts_relaxation_keeps_two_edges_per_node(logits, temperature):
    torch = pytest.importorskip("torch")   # the `torch` fixture fails under CI; hypothesis cannot take it
    from accelmodel.predictor.differentiable import darts_rows

    alphas = torch.softmax(torch.tensor(logits, dtype=torch.float64).reshape(1, 2, 14, 8) * temperature, dim=-1)
    rows = darts_rows(alphas).reshape(2, 14, 9)
    np.testing.assert_allclose(rows.sum(-1).numpy(), 1.0, atol=1e-9)
    kept = 1 - rows[..., 0]
    assert float(kept.min()) >= -1e-12 and float(kept.max()) <= 1 + 1e-12
    for k in range(darts_mod.STEPS):
        first = darts_mod.EDGE_INDEX[(k, 0)]
        np.testing.assert_allclose(kept[:, first:first + k + 2].sum(-1).numpy(), 2.0, rtol=1e-9)
    assert float(rows[..., 1].abs().max()) == 0.0                             # `none` is an absent edge
