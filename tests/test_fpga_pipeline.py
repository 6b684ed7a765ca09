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
from accelmodel.mappers import fpga_pipeline as fp
from accelmodel.specs import SpecError
from accelmodel.workloads import LayerGraph, conv2d, fbnet, nasbench201
from accelmodel.workloads.nasbench201 import OPS, arch_string

NB0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


def cfg(**budget):
    return configure("fpga-zc706", budget or None)[2]


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


def test_nb201_calibration_kendall_tau(reference):
    from scipy.stats import kendalltau

    with open(reference / "hwnasbench_nb201_cifar10_calibration.csv") as fh:
        rows = list(csv.DictReader(fh))
    config = cfg()
    pred = [fp.map_network(nasbench201(r["arch_str"], "cifar10"), config).latency_s * 1e3 for r in rows]
    ref = [float(r["fpga_latency_ms"]) for r in rows]
    tau = kendalltau(np.round(np.array(pred) * 1e6), np.round(np.array(ref) * 1e6), variant="b")[0]
    assert tau >= 0.85, tau


def _example_cases():
    cases = []
    for ds in ("cifar10", "cifar100"):
        cases.append(pytest.param("nb201", ds, id=f"nb201-0-{ds}"))
    cases.append(pytest.param("nb201", "ImageNet16-120", id="nb201-0-ImageNet16-120", marks=pytest.mark.xfail(
        strict=True, reason="measured +16% latency/energy: at 16x16 inputs the last-stage layers become bound by "
        "weight streaming (weights do not shrink with the map), while HW-NAS-Bench's value is 0.2523x its "
        "CIFAR value for 1/4 of the pixels, i.e. its weights cost almost nothing (resident on chip?)")))
    cases.append(pytest.param("fbnet", "cifar100", id="fbnet-k3e1-cifar100", marks=pytest.mark.xfail(
        strict=True, reason="measured +17% latency/energy (12.6 vs 10.74 ms): the 22 depthwise layers run "
        "one channel at a time on the dense engine (8.6 ms of the 12.6); a depthwise-aware engine gives "
        "4.6 ms (-57%)")))
    return cases


@pytest.mark.parametrize("space,dataset", _example_cases())
def test_hwnasbench_examples_within_15_percent(examples, space, dataset):
    if space == "nb201":
        entry = next(e for e in examples["nasbench201"] if e["index"] == 0)
        graph = nasbench201(entry["arch_str"], dataset)
    else:
        entry = examples["fbnet"][0]
        graph = fbnet(entry["op_idx_list"], dataset)
    ref = entry[dataset]
    e = estimate(graph, "fpga-zc706")
    assert abs(e.latency_ms / ref["fpga_latency"] - 1) <= 0.15, e.latency_ms
    assert abs(e.energy_mj / ref["fpga_energy"] - 1) <= 0.15, e.energy_mj


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


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arch=archs, dsp=st.integers(32, 800), extra=st.integers(1, 100))
def test_more_dsp_never_lowers_throughput(arch, dsp, extra):
    g = nasbench201(arch)
    a = fp.map_network(g, cfg(dsp=dsp)).extra["throughput_gops"]
    b = fp.map_network(g, cfg(dsp=dsp + extra)).extra["throughput_gops"]
    assert b >= a * (1 - 1e-3)


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


def test_depthwise_mode_is_a_budget_option():
    g = fbnet([0] * 22)
    dense = estimate(g, "fpga-zc706")
    aware = estimate(g, "fpga-zc706", budget={"depthwise": "output_lanes"})
    assert aware.latency_ms < dense.latency_ms
    assert aware.throughput_gops >= dense.throughput_gops
    with pytest.raises(SpecError, match=r"engine.depthwise.*allowed"):
        estimate(g, "fpga-zc706", budget={"depthwise": "diagonal"})


# ---- batch path ----------------------------------------------------------------------------------

def test_evaluate_sequences_equals_map_network():
    config = cfg(dsp=723)
    graphs = [nasbench201(NB0), nasbench201(arch_string(["nor_conv_3x3"] * 6)), fbnet([0] * 22),
              nasbench201(NB0, batch=3),
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
