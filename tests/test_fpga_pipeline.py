"""Chunk-pipelined FPGA model (fpga-zc706): fidelity against HW-NAS-Bench / DNNBuilder, invariants, batch
path, bad input."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accelmodel.estimate import configure, estimate
from accelmodel.mappers import fpga_kernels as fk
from accelmodel.mappers import fpga_pipeline as fp
from accelmodel.specs import SpecError, load_spec
from accelmodel.workloads import LayerGraph, conv2d, elementwise, fbnet, nasbench201
from accelmodel.workloads.nasbench201 import OPS, arch_string

NB0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
NB1 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
# HW-NAS-Bench values printed by its API's example notebook and quoted in issue 13 (not in the reference folder's
# examples file): NB201 network 1 on ImageNet16-120 and the all-k3_e1 FBNet network on ImageNet.
NB1_IMAGENET16_MS = 1.878
FBNET_K3E1_IMAGENET_MS = 29.4


def cfg(**budget):
    return configure("fpga-zc706", budget or None)[2]


def fbnet_cfg(**budget):
    """The config fpga-zc706 applies to FBNet networks (its search_space_overrides.fbnet)."""
    return configure(load_spec("fpga-zc706").for_space("fbnet"), budget or None)[2]


@pytest.fixture(scope="module")
def board(reference):
    return yaml.safe_load((reference / "board_measurements.yaml").read_text())["zc706_fpga_vgg16"]


@pytest.fixture(scope="module")
def examples(reference):
    return yaml.safe_load((reference / "hwnasbench_examples.yaml").read_text())


# ---- fidelity ------------------------------------------------------------------------------------

def _published(board, dsp):
    return next(i["gop_per_s"] for i in board["implementations"] if i["dsp_used"] == dsp)


def test_vgg16_723_dsp_within_5_percent_of_hwnasbench(board):
    e = estimate("vgg16", "fpga-zc706", budget={"dsp": 723})
    target = _published(board, 723)
    assert e.resources["dsp"] <= 723
    assert abs(e.throughput_gops / target - 1) <= 0.05, e.throughput_gops
    assert e.throughput_gops <= 723 * 0.2 * 2  # 16-bit, one MAC per DSP per cycle at 200 MHz


def test_vgg16_680_dsp_compared_with_dnnbuilder(board):
    # DNNBuilder reports 262 GOP/s with 680 DSPs, 96 % of the 272 GOP/s 16-bit peak; our DSE finds 263.1
    # (+0.4 %, 673 DSPs used). Both lose the last 3-4 % to divisor and balance waste (VGG16's channel counts
    # against discrete Tn x Tm factors) and per-layer pipeline fill. HW-NAS-Bench's 291 GOP/s at 723 DSPs is
    # above that design's own 16-bit peak (289.2), so we can only come within 5 % of it from below.
    e = estimate("vgg16", "fpga-zc706", budget={"dsp": 680})
    assert abs(e.throughput_gops / _published(board, 680) - 1) <= 0.05, e.throughput_gops
    assert e.throughput_gops <= 680 * 0.2 * 2


def test_nb201_calibration_regression_guard(reference):
    # measured: Kendall tau-b 0.9997, MAPE 1.68 %, max 5.8 % on the 1,000 CIFAR-10 networks (was 0.983 / 3.65 %)
    from scipy.stats import kendalltau

    with open(reference / "hwnasbench_nb201_cifar10_calibration.csv") as fh:
        rows = list(csv.DictReader(fh))
    config = cfg()
    pred = np.array([fp.map_network(nasbench201(r["arch_str"], "cifar10"), config).latency_s * 1e3 for r in rows])
    ref = np.array([float(r["fpga_latency_ms"]) for r in rows])
    tau = kendalltau(np.round(pred * 1e6), np.round(ref * 1e6), variant="b")[0]
    assert tau >= 0.99, tau
    assert np.mean(np.abs(pred / ref - 1)) <= 0.025
    assert np.max(np.abs(pred / ref - 1)) <= 0.08


def test_fbnet_calibration_regression_guard(reference):
    # measured: Kendall tau-b 0.980, MAPE 1.81 %, max 3.9 % on the 500 CIFAR-100 networks (layer sum: tau 0.45);
    # through the data-set builder, i.e. the batch path
    from scipy.stats import kendalltau

    from accelmodel.datasets import build

    with open(reference / "hwnasbench_fbnet_cifar100_calibration.csv") as fh:
        rows = list(csv.DictReader(fh))
    ops = [[int(t) for t in r["op_idx_list"].split()] for r in rows]
    pred = build("fbnet", "fpga-zc706", "cifar100", archs=ops, workers=0)["latency_ms"].to_numpy()
    ref = np.array([float(r["fpga_latency_ms"]) for r in rows])
    tau = kendalltau(np.round(pred * 1e6), np.round(ref * 1e6), variant="b")[0]
    assert tau >= 0.95, tau
    assert np.mean(np.abs(pred / ref - 1)) <= 0.025
    assert np.max(np.abs(pred / ref - 1)) <= 0.05


def _example_cases():
    # Measured: NB201 #0 -4.5 / -4.5 / +1.1 % on CIFAR-10 / CIFAR-100 / ImageNet16-120, FBNet all-k3_e1 -1.8 %
    cases = []
    for ds in ("cifar10", "cifar100", "ImageNet16-120"):
        cases.append(pytest.param("nb201", ds, id=f"nb201-0-{ds}"))
    cases.append(pytest.param("fbnet", "cifar100", id="fbnet-k3e1-cifar100"))
    return cases


@pytest.mark.parametrize("space,dataset", _example_cases())
def test_hwnasbench_examples(examples, space, dataset):
    if space == "nb201":
        entry = next(e for e in examples["nasbench201"] if e["index"] == 0)
        graph = nasbench201(entry["arch_str"], dataset)
    else:
        entry = examples["fbnet"][0]
        graph = fbnet(entry["op_idx_list"], dataset)
    ref = entry[dataset]
    e = estimate(graph, "fpga-zc706")
    assert abs(e.latency_ms / ref["fpga_latency"] - 1) <= 0.05, e.latency_ms
    assert e.energy_mj == pytest.approx(e.latency_ms * 7.0)
    assert abs(e.energy_mj / ref["fpga_energy"] - 1) <= 0.05, e.energy_mj


def test_nb201_network1_imagenet16():
    # three 3x3-conv edges: HW-NAS-Bench's value is 0.353x its CIFAR-10 one for 1/4 of the pixels, the 64 -> 64
    # 3x3 convs being weight-bound on 4 x 4 maps (layerwise.weights: buffered). Measured 1.915 ms (+2.0 %); with
    # resident weights it was 1.257 (-33 %).
    e = estimate(nasbench201(NB1, "ImageNet16-120"), "fpga-zc706")
    assert abs(e.latency_ms / NB1_IMAGENET16_MS - 1) <= 0.05, e.latency_ms


def test_fbnet_imagenet_example_within_25_percent():
    # measured 35.70 ms (+21.4 %): see the strict xfail below for the 15 % target
    e = estimate(fbnet([0] * 22, "imagenet"), "fpga-zc706")
    assert abs(e.latency_ms / FBNET_K3E1_IMAGENET_MS - 1) <= 0.25, e.latency_ms


@pytest.mark.xfail(strict=True, reason="known gap: at the CIFAR-100 table's pointwise rate ImageNet's 1x1 MACs alone take "
                   "30.0 ms (> 29.4 published); one ImageNet value cannot identify that table's set-up (README, FPGA)")
def test_fbnet_imagenet_example_within_15_percent():
    e = estimate(fbnet([0] * 22, "imagenet"), "fpga-zc706")
    assert abs(e.latency_ms / FBNET_K3E1_IMAGENET_MS - 1) <= 0.15, e.latency_ms


def test_energy_is_latency_times_board_power():
    e = estimate(nasbench201(NB0), "fpga-zc706")
    assert e.energy_mj == pytest.approx(e.latency_ms * 7.0)
    assert e.layers["latency_ms"].sum() == pytest.approx(e.latency_ms)


def test_reports_pipeline_figures():
    e = estimate("vgg16", "fpga-zc706", budget={"dsp": 723, "bram": 545})
    x = e.extra
    assert x["frames_per_s"] == pytest.approx(1e3 / x["period_ms"])
    b = estimate("vgg16", "fpga-zc706", budget={"dsp": 723}, batch=2).extra
    assert b["frames_per_s"] == pytest.approx(2e3 / b["period_ms"])
    assert e.throughput_gops == pytest.approx(2 * e.macs / (x["period_ms"] * 1e-3) / 1e9)
    assert sum(c["dsp"] for c in x["chunks"]) == e.resources["dsp"] <= 723
    assert sum(c["bram36"] for c in x["chunks"]) == e.resources["bram36"] <= 545
    assert max(c["stage_ms"] for c in x["chunks"]) <= x["period_ms"] * (1 + 1e-9)
    assert "HW-NAS-Bench" in x["latency_kind"]
    # overlapping chunks on row tiles shortens one frame's trip, but never below the slowest stage
    assert x["period_ms"] <= x["column_pipelined_latency_ms"] <= x["pipeline_latency_ms"] * (1 + 1e-9)


# ---- invariants ----------------------------------------------------------------------------------

archs = st.lists(st.sampled_from(OPS), min_size=6, max_size=6).map(arch_string)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arch=archs, dsp=st.integers(32, 900), bram=st.integers(120, 545))  # NB201: <= 98 MAC layers, chunks of <= 4 -> >= 25 DSP
def test_design_fits_budget_and_respects_peak(arch, dsp, bram):
    g = nasbench201(arch)
    config = cfg(dsp=dsp, bram=bram)
    r = fp.map_network(g, config)
    assert r.extra["resources"]["dsp"] <= dsp
    assert r.extra["resources"]["bram36"] <= bram
    macs = g.macs
    # latency >= MACs / (DSP x clock), for the layerwise sum and for the pipeline period
    assert r.latency_s >= macs / (dsp * 200e6) * (1 - 1e-9)
    assert r.extra["period_ms"] * 1e-3 >= macs / (dsp * 200e6) * (1 - 1e-9)
    assert r.extra["throughput_gops"] <= 2 * dsp * 0.2 * (1 + 1e-9)


networks = st.one_of(archs.map(nasbench201),
                     st.lists(st.integers(0, 8), min_size=22, max_size=22).map(lambda ops: fbnet(ops, "cifar100")))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(g=networks, dsp=st.integers(32, 800), extra=st.integers(1, 100), bram=st.integers(150, 545))
def test_more_dsp_never_lowers_throughput(g, dsp, extra, bram):
    # tight BRAM budgets are where the BRAM/DDR heuristic decides; the search's probes do not depend on the
    # DSP budget and its feasibility test is monotone in it, so a larger budget never ends worse
    try:
        a = fp.map_network(g, cfg(dsp=dsp, bram=bram)).extra["throughput_gops"]
    except fp.FitError:
        return  # does not fit the smaller budget: nothing to compare
    b = fp.map_network(g, cfg(dsp=dsp + extra, bram=bram)).extra["throughput_gops"]
    assert b >= a * (1 - 1e-9)


def test_more_dsp_never_lowers_throughput_known_cases():
    # cases where the search before the budget-independent probes lost 4-19 % with more DSP
    cases = [
        ("|nor_conv_1x1~0|+|none~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|", 690, 58, 160),
        ("|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|",
         748, 96, 178),
        ("|skip_connect~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|",
         567, 41, 183),
    ]
    for arch, dsp, extra, bram in cases:
        g = nasbench201(arch)
        a = fp.map_network(g, cfg(dsp=dsp, bram=bram)).extra["throughput_gops"]
        b = fp.map_network(g, cfg(dsp=dsp + extra, bram=bram)).extra["throughput_gops"]
        assert b >= a * (1 - 1e-9), (arch, a, b)


def test_depthwise_and_divisor_waste():
    from accelmodel.mappers import fpga_kernels as fk

    dw = fp.encode_layer(conv2d("dw", (1, 64, 8, 8), 64, 3, 1, 1, groups=64))
    full = fp.encode_layer(conv2d("c", (1, 64, 8, 8), 64, 3, 1, 1))
    # depthwise-aware engine: Tn lanes idle, so Tn does not help; channels across the Tm lanes
    assert fk.layer_cycles(dw, 8.0, 16.0, False) == fk.layer_cycles(dw, 1.0, 16.0, False) == 8 * 8 * 9 * 4
    # dense engine without a depthwise path: one group (one busy lane) at a time
    assert fk.layer_cycles(dw, 8.0, 16.0, True) == 8 * 8 * 9 * 64
    # divisor waste: Tm=48 on 64 channels takes as long as Tm=32
    assert fk.layer_cycles(full, 8.0, 48.0, True) == fk.layer_cycles(full, 8.0, 32.0, True)


def test_resident_weights_known_answer_and_budget():
    hw = cfg(layerwise_weights="resident_if_fit").hw
    conv = fp.encode_layer(conv2d("c", (1, 128, 8, 8), 128, 3, 1, 1))
    # 16 x 16 lanes of 16-bit words = 4096 bits per read -> 57 banks of 72 bits; 8 x 8 passes x 9 taps =
    # 576 rows, 512 rows per BRAM36 at 72 bits -> 2 blocks per bank
    assert fk.resident_weight_bram(conv, 16.0, 16.0, hw) == 57 * 2
    assert fk.layerwise_weights_resident(conv, 16.0, 16.0, hw)
    # with a BRAM budget below the resident set, the weights stream again
    assert not fk.layerwise_weights_resident(conv, 16.0, 16.0, cfg(layerwise_weights="resident_if_fit", bram=100).hw)
    assert not fk.layerwise_weights_resident(conv, 16.0, 16.0, cfg(layerwise_weights="streamed").hw)


def test_weight_buffer_known_answer():
    # the default 64 KB buffer holds 32,768 16-bit weights: NB201's 32 -> 64 3x3 conv (18,432) stays on chip, the
    # 64 -> 64 one (36,864) streams
    hw = cfg().hw
    small = fp.encode_layer(conv2d("a", (1, 32, 8, 8), 64, 3, 2, 1))
    large = fp.encode_layer(conv2d("b", (1, 64, 4, 4), 64, 3, 1, 1))
    assert fk.layerwise_weights_resident(small, 8.0, 32.0, hw)
    assert not fk.layerwise_weights_resident(large, 8.0, 32.0, hw)
    assert fk.layerwise_weights_resident(large, 8.0, 32.0, cfg(weight_buffer_kb=72).hw)
    # streamed weights overlap the map load / compute / store: 36,864 words x 2 B at 64 bits x 0.94 per cycle,
    # plus the 30-cycle loop overhead, against 2 x 1,024 map words and 4 x 4 x 8 x 2 x 9 compute cycles
    weights = 36864 * 2 / (8 * 0.94)
    assert fk.layerwise_cycles(large, cfg().tn, cfg().tm, cfg().dsp, hw) == pytest.approx(weights + 30)


def test_weight_placement_only_removes_weight_streaming():
    g = nasbench201(NB1, "ImageNet16-120")
    resident = estimate(g, "fpga-zc706", budget={"layerwise_weights": "resident_if_fit"})
    buffered = estimate(g, "fpga-zc706")
    streamed = estimate(g, "fpga-zc706", budget={"layerwise_weights": "streamed"})
    tight = estimate(g, "fpga-zc706", budget={"layerwise_weights": "resident_if_fit", "bram": 60})
    assert resident.latency_ms < buffered.latency_ms < streamed.latency_ms
    assert resident.latency_ms <= tight.latency_ms <= streamed.latency_ms
    assert (resident.layers["latency_ms"] <= buffered.layers["latency_ms"] * (1 + 1e-12)).all()
    assert (buffered.layers["latency_ms"] <= streamed.layers["latency_ms"] * (1 + 1e-12)).all()
    assert (resident.layers["weight_cycles"].dropna() == 0).all()
    assert not tight.layers["weights_resident"].dropna().astype(bool).all()
    # the pipeline streams weights either way
    assert resident.extra["period_ms"] == pytest.approx(streamed.extra["period_ms"])
    with pytest.raises(SpecError, match=r"layerwise.weights.*allowed"):
        estimate(g, "fpga-zc706", budget={"layerwise_weights": "cached"})


def test_depthwise_mode_is_a_budget_option():
    g = fbnet([0] * 22)
    dense = estimate(g, "fpga-zc706", budget={"layerwise_composition": "layer_sum"})
    aware = estimate(g, "fpga-zc706", budget={"depthwise": "output_lanes", "layerwise_composition": "layer_sum"})
    assert aware.latency_ms < dense.latency_ms
    assert aware.throughput_gops >= dense.throughput_gops
    with pytest.raises(SpecError, match=r"engine.depthwise.*allowed"):
        estimate(g, "fpga-zc706", budget={"depthwise": "diagonal"})


# ---- HW-NAS-Bench's FBNet block rule (fbnet: layerwise.composition separable_blocks) ----------------------

def _block(c_in, c_out, hw, kernel=3, exp=1, groups=1, stride=1):
    """One FBNet inverted-residual block alone (expand, depthwise, project, residual add), an FBNet-space graph."""
    g = LayerGraph("block", (1, c_in, hw, hw), meta={"space": "fbnet"})
    mid = c_in * exp
    g.add(elementwise("in", "identity", g.input_shape))  # wiring: free on the FPGA
    e = g.add(conv2d("expand", g.input_shape, mid, 1, 1, 0, groups=groups), "in")
    d = g.add(conv2d("dw", e.out_shape, mid, kernel, stride, kernel // 2, groups=mid), "expand")
    p = g.add(conv2d("project", d.out_shape, c_out, 1, 1, 0, groups=groups), "dw")
    if stride == 1 and c_in == c_out:
        g.add(elementwise("add", "add", p.out_shape, 2), ["project", "in"])
    return g


def _block_cycles(**kw):
    return fp.map_network(_block(**kw), fbnet_cfg()).latency_s * 200e6


@pytest.mark.parametrize("kw,cycles", [
    # 32 x 32 x (16 mid x (3/32 x (16 + 16) + 3/4) + 3/4 x 16): HW-NAS-Bench's k3_e1 - skip at position 0
    (dict(c_in=16, c_out=16, hw=32), 73728),
    # grouped 1x1 convs halve the MAC part (k3_e1_g2 - skip at position 0)
    (dict(c_in=16, c_out=16, hw=32, groups=2), 49152),
    # stride 2, costed on the 16 x 16 output: 256 x (24 x (3/32 x 56 + 3/4) + 3/4 x 32) (position 5)
    (dict(c_in=24, c_out=32, hw=32, stride=2), 43008),
    # k5_e6: the depthwise chunk binds, 3 x 25 x 96 x 1024 / 16 (the table: 457,728, 0.7 % less), above the
    # pointwise chunk's 1024 x (96 x 3.75 + 12) = 380,928
    (dict(c_in=16, c_out=16, hw=32, kernel=5, exp=6), 460800),
    # same shapes, k3: the pointwise chunk binds
    (dict(c_in=16, c_out=16, hw=32, kernel=3, exp=6), 380928),
])
def test_fbnet_block_rule_known_answers(kw, cycles):
    assert _block_cycles(**kw) == pytest.approx(cycles, rel=1e-12)


def test_fbnet_layers_outside_blocks_are_free_and_blocks_add_up():
    config = fbnet_cfg()
    assert fp.map_network(fbnet([8] * 22), config).latency_s == 0.0  # stem, skips, header, pool, classifier
    g = fbnet([3, 7, 8, 1, 5, 2, 8, 4, 6, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2, 3])
    r = fp.map_network(g, config)
    per_block = {}
    for layer, cost in zip(g.layers, r.layers):
        per_block[layer.tag("position")] = per_block.get(layer.tag("position"), 0.0) + cost.latency_s
    assert sum(per_block.values()) == pytest.approx(r.latency_s, rel=1e-12)
    assert all(v == 0 for k, v in per_block.items() if k in ("stem", "header", "avgpool", "fc"))
    # the pipeline (throughput) figures do not depend on the composition of the layerwise figure
    assert r.extra["period_ms"] == pytest.approx(fp.map_network(g, cfg()).extra["period_ms"], rel=1e-12)


fbnets = st.lists(st.integers(0, 8), min_size=22, max_size=22)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=fbnets, dataset=st.sampled_from(["cifar100", "imagenet"]))
def test_fbnet_blocks_never_beat_their_engines(ops, dataset):
    # each block layer is at most as fast as its chunk's lanes allow (utilization <= 1 on the MACs the rule
    # charges), and a block never takes less than its chunks' work over all their lanes
    r = estimate(fbnet(ops, dataset), "fpga-zc706")
    rows = r.layers[r.layers["bound"].isin(["pointwise chunk", "depthwise chunk"])]
    assert (rows["utilization"] <= 1 / 3 + 1e-12).all()  # one issue every 3 cycles
    charged = (rows["charged_macs"] * 3 / np.where(rows["bound"] == "pointwise chunk", 32, 16)).sum()
    assert r.latency_ms * 1e-3 * 200e6 >= rows["charged_macs"].sum() * 3 / 48 * (1 - 1e-12)
    assert r.latency_ms * 1e-3 * 200e6 <= charged * (1 + 1e-12)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arch=archs, dsp=st.integers(32, 800), extra=st.integers(1, 100), dataset=st.sampled_from(
    ["cifar10", "ImageNet16-120"]))
def test_more_dsp_never_slows_the_layerwise_figure(arch, dsp, extra, dataset):
    # layer_sum: each layer takes the fastest layer engine within the budget, a set that only grows with it
    g = nasbench201(arch, dataset)
    a = fp.map_network(g, cfg(dsp=dsp)).latency_s
    b = fp.map_network(g, cfg(dsp=dsp + extra)).latency_s
    assert b <= a * (1 + 1e-12)


def test_fbnet_block_engines_need_their_dsps():
    with pytest.raises(SpecError, match=r"separable_blocks.*32 \+ 16 MAC lanes.*budget.dsp is 40"):
        estimate(fbnet([0] * 22), "fpga-zc706", budget={"dsp": 40})


# ---- batch path ----------------------------------------------------------------------------------

@pytest.mark.parametrize("config", [cfg(dsp=723), fbnet_cfg(dsp=723)], ids=["layer_sum", "separable_blocks"])
def test_evaluate_sequences_equals_map_network(config):
    graphs = [nasbench201(NB0), nasbench201(arch_string(["nor_conv_3x3"] * 6)), fbnet([0] * 22),
              nasbench201(NB0, batch=3), fbnet([0] * 22, "imagenet"), fbnet([5] * 22, batch=2),
              fbnet([3, 7, 8, 1, 5, 2, 8, 4, 6, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2, 3])]
    index, layers, seqs = {}, [], []
    for g in graphs:
        seq = []
        for layer in g.layers:
            if layer.signature not in index:
                index[layer.signature] = len(layers)
                layers.append(layer)
            seq.append(index[layer.signature])
        seqs.append(seq)
    width = max(map(len, seqs))
    sequences = np.zeros((len(seqs), width), np.int64)
    for i, s in enumerate(seqs):
        sequences[i, : len(s)] = s
    out = fp.evaluate_sequences(fp.encode_layers(layers), sequences, np.array([len(s) for s in seqs]), config)
    for i, g in enumerate(graphs):
        r = fp.map_network(g, config)
        assert out["latency_ms"][i] == pytest.approx(r.latency_s * 1e3, rel=1e-12)
        assert out["energy_mj"][i] == pytest.approx(r.energy_j * 1e3, rel=1e-12)
        assert out["throughput_gops"][i] == pytest.approx(r.extra["throughput_gops"], rel=1e-12)
        assert out["frames_per_s"][i] == pytest.approx(r.extra["frames_per_s"], rel=1e-12)


# ---- bad input -----------------------------------------------------------------------------------

def test_unknown_budget_key_names_allowed_ones():
    with pytest.raises(SpecError, match=r"unknown budget.*'dsps'.*allowed.*'bram'.*'dsp'"):
        estimate(nasbench201(NB0), "fpga-zc706", budget={"dsps": 700})


def test_budget_beyond_device_is_an_error():
    with pytest.raises(SpecError, match=r"budget.dsp.*900"):
        cfg(dsp=1200)


def test_network_too_large_names_layer_resource_and_shortfall():
    g = LayerGraph("huge", (1, 512, 2048, 2048))
    g.add(conv2d("big_conv", g.input_shape, 64, 3, 1, 1))
    with pytest.raises(fp.FitError, match=r"layer 'big_conv'.*BRAM36.*short"):
        estimate(g, "fpga-zc706")


def test_small_bram_budget_forces_error_with_amount():
    with pytest.raises(fp.FitError, match=r"BRAM36"):
        estimate("vgg16", "fpga-zc706", budget={"bram": 20})


def test_too_few_dsps_names_resource_and_shortfall():
    with pytest.raises(fp.FitError, match=r"DSP.*budget is 2 DSP \(\d+ DSP short\)"):
        estimate(nasbench201(arch_string(["nor_conv_3x3"] * 6)), "fpga-zc706", budget={"dsp": 2})


def test_8bit_packing_doubles_macs_per_dsp_and_respects_its_peak():
    e16 = estimate("vgg16", "fpga-zc706", budget={"dsp": 723})
    e8 = estimate("vgg16", "fpga-zc706", budget={"dsp": 723, "data_bits": 8})
    assert e8.throughput_gops > 1.5 * e16.throughput_gops
    assert e8.throughput_gops <= e8.extra["peak_gops"] == pytest.approx(2 * 723 * 2 * 0.2)
    assert e8.resources["dsp"] <= 723


def test_resource_power_mode():
    e = estimate("resnet18", "fpga-zc706", budget={"power_mode": "resource"})
    x = e.extra
    assert e.energy_mj == pytest.approx(e.latency_ms * x["power_w"])
    assert x["power_w"] == pytest.approx(x["resource_power_w"])
    # static 1.8 W plus per-DSP/BRAM/DDR dynamic power: below the 7 W board figure, above static
    assert 1.8 < x["power_w"] < 7.0


def test_evaluate_sequences_reports_networks_that_do_not_fit():
    big = conv2d("big_conv", (1, 512, 2048, 2048), 64, 3, 1, 1)
    small = conv2d("small_conv", (1, 16, 8, 8), 16, 3, 1, 1)
    rows = fp.encode_layers([small, big])
    with pytest.raises(fp.FitError, match=r"networks \[1\]"):
        fp.evaluate_sequences(rows, np.array([[0], [1]]), np.array([1, 1]), cfg())
