"""Accelerator search (accelmodel/search.py): the 50,000-point NAHAS sweep, its frame, validity and Pareto
flags, agreement with `estimate`, monotonicity over the grid, the NAHAS reward, the joint search and bad input."""

from __future__ import annotations


import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accelmodel import search
from accelmodel.estimate import estimate
from accelmodel.mappers import generic as gm
from accelmodel.specs import load_spec
from accelmodel.workloads import get

NB201 = "nb201:|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|"
COLUMNS = list(search.PARAMS) + ["latency_ms", "energy_mj", "area_mm2", "peak_tops", "valid", "reason", "pareto"]
BASELINE = {"pes_x": 4, "pes_y": 4, "simd_units": 64, "register_file_kb": 32, "local_memory_mb": 2,
            "compute_lanes": 4, "io_bandwidth_gbps": 25}
SMALL_SPACE = {"pes_x": [1, 2, 4], "pes_y": [2, 4], "simd_units": [16, 64], "local_memory_mb": [0.5, 2],
               "io_bandwidth_gbps": [5, 25]}


@pytest.fixture(scope="module")
def full_sweep():
    return search.accelerators(NB201)


def row_of(frame, params):
    mask = np.ones(len(frame), dtype=bool)
    for p, v in params.items():
        mask &= frame[p].to_numpy() == v
    assert mask.sum() == 1
    return frame[mask].iloc[0]


# ---- the full sweep --------------------------------------------------------------------------------

def test_full_sweep_frame(full_sweep):
    f = full_sweep
    assert len(f) == 50_000
    assert list(f.columns) == COLUMNS
    assert f["valid"].dtype == bool and f["pareto"].dtype == bool
    assert f["valid"].all()                             # a small CIFAR network fits every accelerator
    assert (f.loc[f["valid"], "reason"] == "").all()
    assert not f.duplicated(list(search.PARAMS)).any()
    base = row_of(f, BASELINE)
    assert base["peak_tops"] == pytest.approx(26.2144)
    assert base["area_mm2"] == pytest.approx(gm.configure(load_spec("nahas-edge")).area_mm2)
    assert f.attrs["network"] and f.attrs["mapspace"] == "pow2"


def test_full_sweep_matches_reference_space(full_sweep, reference):
    ref = yaml.safe_load((reference / "board_measurements.yaml").read_text())["nahas_edge_accelerator"]
    for p, values in ref["search_space"].items():
        assert sorted(full_sweep[p].unique()) == sorted(float(v) for v in values)
    assert round(row_of(full_sweep, BASELINE)["peak_tops"]) == ref["baseline"]["peak_tops_int8"]


def test_pareto_flag_is_the_latency_area_front(full_sweep):
    f = full_sweep[full_sweep["valid"]]
    lat, area = f["latency_ms"].to_numpy(), f["area_mm2"].to_numpy()
    front = f["pareto"].to_numpy()
    assert front.any()
    for i in np.flatnonzero(front):        # no row dominates a front row
        dominated = (lat <= lat[i]) & (area <= area[i]) & ((lat < lat[i]) | (area < area[i]))
        assert not dominated.any()
    fl, fa = lat[front], area[front]       # every other row is dominated by (or ties with) a front row
    for i in np.flatnonzero(~front):
        assert ((fl <= lat[i]) & (fa <= area[i])).any()


def grid(frame, column, space):
    """The column as a 7-D array over the parameter grid (the frame is in itertools.product order)."""
    return frame[column].to_numpy().reshape([len(space[p]) for p in search.PARAMS])


def test_more_of_any_resource_never_slower_and_always_larger(full_sweep):
    space = search.search_space()
    lat = grid(full_sweep, "latency_ms", space)
    area = grid(full_sweep, "area_mm2", space)
    for axis, p in enumerate(search.PARAMS):
        assert (np.diff(lat, axis=axis) <= 1e-12 * lat.max()).all(), p
        assert (np.diff(area, axis=axis) > 0).all(), p


def test_latency_at_least_macs_over_peak(full_sweep):
    macs = get(NB201).macs
    f = full_sweep
    bound_ms = 2 * macs / (f["peak_tops"] * 1e12) * 1e3
    assert (f["latency_ms"] >= bound_ms * (1 - 1e-12)).all()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.integers(0, 49_999))
def test_a_row_equals_estimate(full_sweep, index):
    row = full_sweep.iloc[index]
    params = {p: row[p] for p in search.PARAMS}
    est = estimate(NB201, "nahas-edge", budget={**params, "mapspace": "pow2"})
    assert row["latency_ms"] == pytest.approx(est.latency_ms, rel=1e-9)
    assert row["energy_mj"] == pytest.approx(est.energy_mj, rel=1e-9)


def test_subspace_sweep_resnet_layers_and_exhaustive_mapspace():
    f = search.accelerators("resnet18", space=SMALL_SPACE, mapspace="exhaustive")
    assert len(f) == 3 * 2 * 2 * 2 * 2
    assert set(f["register_file_kb"]) == {32.0} and set(f["compute_lanes"]) == {4}   # baseline elsewhere
    row = f.iloc[5]
    est = estimate("resnet18", "nahas-edge", budget={**{p: row[p] for p in search.PARAMS}, "mapspace": "exhaustive"})
    assert row["latency_ms"] == pytest.approx(est.latency_ms, rel=1e-9)


# ---- constraints, validity and reasons ---------------------------------------------------------------

def test_area_budget_and_latency_target_mark_rows_with_reasons():
    f0 = search.accelerators(NB201, space=SMALL_SPACE)
    budget = float(np.median(f0["area_mm2"]))
    target = float(np.median(f0["latency_ms"]))
    f = search.accelerators(NB201, space=SMALL_SPACE, area_budget=budget, latency_target=target)
    over = f["area_mm2"] > budget
    late = (f["latency_ms"] > target) & ~over
    assert (~f.loc[over, "valid"]).all() and (~f.loc[late, "valid"]).all()
    assert f.loc[~over & ~late, "valid"].all()
    assert f.loc[over, "reason"].str.contains(r"exceeds the budget .* by \d", regex=True).all()
    assert f.loc[late, "reason"].str.contains(r"misses the target .* by \d", regex=True).all()
    a = f.loc[over].iloc[0]
    assert f"{a['area_mm2'] - budget:.2f}" in a["reason"]
    assert not (f["pareto"] & ~f["valid"]).any()


def test_rows_that_do_not_fit_are_invalid_with_a_reason():
    f = search.accelerators("vgg16", space={"local_memory_mb": [0.001, 2], "pes_x": [1, 4]})
    tiny = f["local_memory_mb"] == 0.001
    assert (~f.loc[tiny, "valid"]).all() and f.loc[~tiny, "valid"].all()
    assert f.loc[tiny, "reason"].str.contains(r"does not fit the local memory: .* needs \d+ B per PE, \d+ B more", regex=True).all()
    assert f.loc[tiny, "latency_ms"].isna().all()


def test_budgets_no_configuration_meets_say_by_how_much():
    f = search.accelerators(NB201, space=SMALL_SPACE)
    amin, lmin = f["area_mm2"].min(), f["latency_ms"].min()
    with pytest.raises(ValueError, match=rf"over the area budget 1 mm\^2 by {amin - 1:.2f} mm\^2"):
        search.accelerators(NB201, space=SMALL_SPACE, area_budget=1)
    with pytest.raises(ValueError, match=rf"over the latency target 1e-06 ms by {lmin - 1e-6:.4f} ms"):
        search.accelerators(NB201, space=SMALL_SPACE, latency_target=1e-6)
    with pytest.raises(ValueError, match="no accelerator of the space can run"):
        search.accelerators("vgg16", space={"local_memory_mb": [0.001]})


def test_bad_search_input():
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['pes'\]"):
        search.accelerators(NB201, space={"pes": [1, 2]})
    with pytest.raises(ValueError, match="'pes_x': value 1.5 must be an integer"):
        search.search_space({"pes_x": [1.5]})
    with pytest.raises(ValueError, match="has no values"):
        search.search_space({"pes_x": []})
    with pytest.raises(ValueError, match="'nahas' or a dict"):
        search.search_space("tpu")
    with pytest.raises(ValueError, match="area_budget must be a positive number"):
        search.accelerators(NB201, space=SMALL_SPACE, area_budget=-3)
    with pytest.raises(ValueError, match="objective"):
        search.accelerators(NB201, space=SMALL_SPACE, objective="speed")
    with pytest.raises(ValueError, match="mapspace"):
        search.accelerators(NB201, space=SMALL_SPACE, mapspace="random")
    with pytest.raises(ValueError, match=r"pes_x=3 is outside the search space; allowed: \[1, 2, 4, 6, 8\]"):
        search.check_config({"pes_x": 3})
    with pytest.raises(ValueError, match=r"unknown accelerator parameter\(s\) \['lanes'\]"):
        search.check_config({"lanes": 4})
    assert search.check_config({"pes_x": 8}) == {**BASELINE, "pes_x": 8}
    assert search.accelerator_config({"pes_x": 8}).pes == 32


# ---- NAHAS reward -----------------------------------------------------------------------------------

def test_nahas_reward_known_answers():
    r = search.nahas_reward
    # hard (p=0, q=-1): accuracy when both constraints hold; scaled by T/x when violated
    assert r(0.75, 1.0, 10.0, 2.0, 20.0, "hard") == pytest.approx(0.75)
    assert r(0.75, 4.0, 10.0, 2.0, 20.0, "hard") == pytest.approx(0.75 * 0.5)
    assert r(0.75, 4.0, 40.0, 2.0, 20.0, "hard") == pytest.approx(0.75 * 0.25)
    # soft (p=q=-0.071): smooth in both ratios on either side of the target
    assert r(0.75, 1.0, 10.0, 2.0, 20.0, "soft") == pytest.approx(0.75 * 0.5 ** -0.071 * 0.5 ** -0.071)
    assert r(0.75, 4.0, 20.0, 2.0, 20.0, "soft") == pytest.approx(0.75 * 2 ** -0.071)
    assert r(0.5, 3.0, 1.0, 3.0, 1.0, (0.0, -2.0)) == pytest.approx(0.5)
    arr = r(np.array([0.7, 0.8]), np.array([1.0, 3.0]), np.array([5.0, 5.0]), 2.0, 5.0, "hard")
    assert arr == pytest.approx([0.7, 0.8 * 2 / 3])
    with pytest.raises(ValueError, match="reward 'mnas'"):
        r(0.7, 1, 1, 1, 1, "mnas")
    with pytest.raises(ValueError, match=r"\(p, q\) pair"):
        r(0.7, 1, 1, 1, 1, (1,))


@settings(max_examples=25, deadline=None)
@given(st.floats(0.01, 1), st.floats(0.01, 100), st.floats(0.01, 100), st.sampled_from(["hard", "soft"]))
def test_reward_never_rises_with_latency_or_area(acc, lat, area, kind):
    r = lambda l, a: search.nahas_reward(acc, l, a, 10.0, 10.0, kind)
    assert r(lat * 1.5, area) <= r(lat, area) + 1e-15
    assert r(lat, area * 1.5) <= r(lat, area) + 1e-15
    if kind == "hard" and lat <= 10 and area <= 10:
        assert r(lat, area) == pytest.approx(acc)


# ---- joint search -----------------------------------------------------------------------------------

def macs_proxy(name, graph):
    """A stand-in accuracy proxy (NOT an accuracy): bigger networks score higher, in [0, 1)."""
    return 1.0 - 1.0 / (1.0 + graph.macs / 1e8)


def test_joint_search_on_nasbench201_samples():
    nets = search.sample_networks("nb201", 3, seed=3)
    res = search.joint(nets, macs_proxy, latency_target=0.05, reward="hard", space=SMALL_SPACE, top=5)
    pairs = res.pairs
    assert len(pairs) == 3 * 48 and set(pairs["network"]) == set(nets)
    assert res.area_target_mm2 == pytest.approx(gm.configure(load_spec("nahas-edge")).area_mm2)
    expect = search.nahas_reward(pairs["accuracy"], pairs["latency_ms"], pairs["area_mm2"], 0.05,
                                 res.area_target_mm2, "hard")
    assert pairs["reward"].to_numpy() == pytest.approx(np.asarray(expect))
    meets = pairs["meets_latency"] & pairs["meets_area"]
    assert (pairs.loc[meets, "reward"] == pairs.loc[meets, "accuracy"]).all()
    assert len(res.best) == 5
    assert res.best["reward"].is_monotonic_decreasing
    assert res.best["reward"].iloc[0] == pytest.approx(pairs["reward"].max())
    fr = res.frontier
    acc, lat, area = (pairs[c].to_numpy() for c in ("accuracy", "latency_ms", "area_mm2"))
    for _, row in fr.iterrows():
        dom = (acc >= row["accuracy"]) & (lat <= row["latency_ms"]) & (area <= row["area_mm2"]) & (
            (acc > row["accuracy"]) | (lat < row["latency_ms"]) | (area < row["area_mm2"]))
        assert not dom.any()
    # the most accurate pair at the smallest latency is on the frontier
    top = pairs[pairs["accuracy"] == pairs["accuracy"].max()]
    assert top["latency_ms"].min() in set(fr["latency_ms"])


def test_joint_search_with_fbnet_samples_and_a_table():
    nets = search.sample_networks("fbnet", 2, seed=0)
    table = {name: 0.5 + 0.1 * i for i, name in enumerate(nets)}
    res = search.joint(nets, table, latency_target=1.0, area_target=30.0, reward="soft",
                       space={"pes_x": [2, 4], "simd_units": [32, 64]})
    assert set(res.pairs["network"]) == set(nets) and len(res.pairs) == 8
    assert res.reward == (-0.071, -0.071)


def test_joint_bad_input():
    with pytest.raises(KeyError, match="no accuracy given"):
        search.joint([NB201], {}, latency_target=1.0, space=SMALL_SPACE)
    with pytest.raises(ValueError, match="accuracy of .* must be a finite number"):
        search.joint([NB201], {NB201: float("nan")}, latency_target=1.0, space=SMALL_SPACE)
    with pytest.raises(ValueError, match="latency_target must be a positive number"):
        search.joint([NB201], macs_proxy, latency_target=0, space=SMALL_SPACE)
    with pytest.raises(ValueError, match="at least one network"):
        search.joint([], macs_proxy, latency_target=1.0)


def test_sample_networks():
    a = search.sample_networks("nb201", 4, seed=1)
    assert len(a) == 4 and list(a) == list(search.sample_networks("nb201", 4, seed=1))
    for name, graph in a.items():
        assert name.startswith("nb201:") and get(name).macs == graph.macs
    b = search.sample_networks("fbnet", 3, seed=2)
    assert len(b) == 3 and all(n.startswith("fbnet:") and len(n[6:].split(",")) == 22 for n in b)
    with pytest.raises(ValueError, match="network space 'darts'"):
        search.sample_networks("darts", 2)
    with pytest.raises(ValueError, match="exceeds the 15625 networks"):
        search.sample_networks("nb201", 20_000)
    with pytest.raises(ValueError, match="positive int"):
        search.sample_networks("nb201", 0)


@pytest.mark.parametrize("network", ["resnet50", "mobilenet_v2"])
def test_grid_kernel_equals_cell_by_cell_search(network):
    """The sweep answers a whole register-file x local-memory x bandwidth grid in one pass, with pruning
    bounds shared across the grid; every cell must equal a search of that cell alone."""
    from accelmodel.mappers import generic_kernels as gk

    base = gm.configure(load_spec("nahas-edge"))
    sp = search.search_space()
    rf = np.array(sp["register_file_kb"]) * 1024
    glb = np.array(sp["local_memory_mb"]) * 2**20
    bw = np.array(sp["io_bandwidth_gbps"]) * 1e9 / base.clock_hz
    layers = [layer for layer, _ in get(network).unique_layers().values() if layer.op in ("conv2d", "linear")]
    rng = np.random.default_rng(0)
    for layer in rng.choice(layers, size=3, replace=False):
        vec = gm.layer_vector(layer)
        pes, lanes, vk = int(rng.choice([1, 6, 16])), int(rng.choice([1, 4])), int(rng.choice([16, 128]))
        args = (0.5, 0, )
        grid = gk.search_layer(vec, pes, lanes, vk, 4, 1.0, 4.0, rf, *args, glb, bw, base.e_mac, base.e_rf,
                               base.e_glb, base.e_dram, True, gk.OBJ_LATENCY, False)
        for r, g, b in [(0, 0, 0), (4, 4, 4), (2, 1, 3), (0, 4, 0), (3, 0, 4)]:
            one = gk.search_layer(vec, pes, lanes, vk, 4, 1.0, 4.0, rf[r:r + 1], *args, glb[g:g + 1],
                                  bw[b:b + 1], base.e_mac, base.e_rf, base.e_glb, base.e_dram, True,
                                  gk.OBJ_LATENCY, False)[0, 0, 0]
            assert grid[r, g, b, gk.F_LAT] == pytest.approx(one[gk.F_LAT], rel=1e-12), (layer.name, r, g, b)


def test_register_file_too_small_for_the_simd_units_is_an_invalid_row():
    f = search.accelerators(NB201, space={"register_file_kb": [0.25, 8], "simd_units": [16, 128]})
    bad = (f["register_file_kb"] == 0.25) & (f["simd_units"] == 128)
    assert (~f.loc[bad, "valid"]).all() and f.loc[~bad, "valid"].all()
    assert f.loc[bad, "reason"].iloc[0] == ("register file holds 128 B of partial sums, 384 B short of one 32-bit sum "
                                            "per SIMD unit (512 B)")
    assert f.loc[bad, "latency_ms"].isna().all() and not f.loc[bad, "pareto"].any()
