"""Eyeriss models against published figures: HW-NAS-Bench's Eyeriss columns and the Eyeriss chip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import kendalltau

from accelmodel import estimate
from accelmodel.validation.board_compare import chip_figures
from accelmodel.workloads import get, nasbench201


def mape(pred, ref) -> float:
    pred, ref = np.asarray(pred, float), np.asarray(ref, float)
    return float(np.mean(np.abs(pred - ref) / ref))


# ---- HW-NAS-Bench (eyeriss-hwnasbench) --------------------------------------------------------------

@pytest.fixture(scope="module")
def calibration(reference):
    return pd.read_csv(reference / "hwnasbench_nb201_cifar10_calibration.csv")


@pytest.fixture(scope="module")
def examples(reference):
    return yaml.safe_load((reference / "hwnasbench_examples.yaml").read_text())


def test_nb201_cifar10_latency_rank_and_error(calibration):
    """1,000 NAS-Bench-201 networks: Kendall tau-b >= 0.95 on values rounded to 1 ns, MAPE <= 5 %."""
    ref = calibration["eyeriss_latency_ms"].to_numpy()
    pred = np.array([estimate(nasbench201(a, "cifar10"), "eyeriss-hwnasbench").latency_ms
                     for a in calibration["arch_str"]])
    tau = kendalltau(np.round(pred * 1e6), np.round(ref * 1e6), variant="b").statistic
    err = mape(pred, ref)
    print(f"eyeriss-hwnasbench NB201 CIFAR-10 (n={len(ref)}): Kendall tau-b {tau:.4f}, MAPE {err:.2%}")
    assert tau >= 0.95
    assert err <= 0.05
    # regression guard, tighter than the bound: DNN-Chip Predictor's mapping rule (objective
    # "balanced", the spec's nasbench201 convention) reproduces the reference to 0.17 % (fastest mapping: 3.1 %)
    assert err <= 0.005


@pytest.mark.parametrize("dataset", ["cifar10", "cifar100", "ImageNet16-120"])
def test_nb201_example_energy_and_latency(examples, dataset):
    entry = examples["nasbench201"][0]
    ref = entry[dataset]
    est = estimate(nasbench201(entry["arch_str"], dataset), "eyeriss-hwnasbench")
    print(f"NB201 #0 {dataset}: energy {est.energy_mj:.4f} mJ (ref {ref['eyeriss_energy']:.4f}), "
          f"latency {est.latency_ms:.4f} ms (ref {ref['eyeriss_latency']:.4f})")
    assert est.energy_mj == pytest.approx(ref["eyeriss_energy"], rel=0.10)
    assert est.latency_ms == pytest.approx(ref["eyeriss_latency"], rel=0.10)
    # regression guard: within 0.2 % on all three data sets under the NB201 convention (was -7 % fastest-mapping)
    assert est.latency_ms == pytest.approx(ref["eyeriss_latency"], rel=0.01)


#: The smallest and largest Eyeriss energies (mJ) of HW-NAS-Bench's NAS-Bench-201 tables, as EvoXBench quotes them
#: for normalisation (github.com/EMI-Group/evoxbench, NB201 min/max bounds); they belong to the cells whose edges
#: are all none/skip and all nor_conv_3x3. Together with NB201 #0 they calibrate the nasbench201 energies.
NB201_ENERGY_EXTREMES = {
    ("cifar10", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"): 0.3469645085,
    ("cifar10", "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"): 2.2262379485,
    ("ImageNet16-120", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"): 0.08940838,
    ("ImageNet16-120", "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"): 0.569677132,
}


@pytest.mark.parametrize(("dataset", "arch"), list(NB201_ENERGY_EXTREMES))
def test_nb201_energy_extremes(dataset, arch):
    """The two ends of the NB201 energy range, a 6.4x span: a per-MAC-heavy energy table fitted on network #0
    alone overestimated the all-3x3 cell 2.9x."""
    est = estimate(nasbench201(arch, dataset), "eyeriss-hwnasbench")
    ref = NB201_ENERGY_EXTREMES[(dataset, arch)]
    print(f"NB201 {dataset} {arch}: {est.energy_mj:.4f} mJ (ref {ref:.4f})")
    assert est.energy_mj == pytest.approx(ref, rel=0.03)


def fbnet_example(examples):
    entry = examples["fbnet"][0]
    ops = ",".join(str(i) for i in entry["op_idx_list"])
    return entry, estimate(get(f"fbnet:{ops}", dataset="cifar100"), "eyeriss-hwnasbench")


def test_fbnet_example_latency(examples):
    """FBNet, all k3_e1 blocks, CIFAR-100: nothing of the FBNet rule is fitted on latency."""
    entry, est = fbnet_example(examples)
    ref = entry["cifar100"]["eyeriss_latency"]
    print(f"FBNet k3_e1 x22 CIFAR-100: latency {est.latency_ms:.4f} ms (ref {ref:.4f})")
    assert est.latency_ms == pytest.approx(ref, rel=0.10)
    assert est.latency_ms == pytest.approx(ref, rel=0.01)  # regression guard: -0.4 % under the grid rule


def test_fbnet_example_energy(examples):
    """The defaults' one energy scale is fitted on this value (see the spec), so this checks the fit holds with the
    mappings the search picks; the issue's bound is 5 %."""
    entry, est = fbnet_example(examples)
    print(f"FBNet k3_e1 x22 CIFAR-100: energy {est.energy_mj:.4f} mJ (ref {entry['cifar100']['eyeriss_energy']:.4f})")
    assert est.energy_mj == pytest.approx(entry["cifar100"]["eyeriss_energy"], rel=0.05)


#: HW-NAS-Bench's Eyeriss latency of the all-k3_e1 FBNet network on ImageNet, as its API prints it (quoted in issue
#: 13; not in the reference folder's files): 18.1 ms.
FBNET_IMAGENET_K3E1_EYERISS_MS = 18.1


def test_fbnet_imagenet_example_latency():
    """ImageNet (224x224, stem stride 2, 1984-channel header, 7x7 global pool): the CIFAR-100 rule unchanged."""
    est = estimate(get("fbnet:" + ",".join(["0"] * 22), dataset="imagenet"), "eyeriss-hwnasbench")
    print(f"FBNet k3_e1 x22 ImageNet: latency {est.latency_ms:.3f} ms (HW-NAS-Bench {FBNET_IMAGENET_K3E1_EYERISS_MS})")
    assert est.latency_ms == pytest.approx(FBNET_IMAGENET_K3E1_EYERISS_MS, rel=0.10)


def test_fbnet_cifar100_calibration_latency(reference):
    """500 FBNet networks (CIFAR-100): Kendall tau-b >= 0.95 on values rounded to 1 ns and MAPE <= 5 % (issue 13),
    with tighter regression guards for what the grid rule reaches (tau-b 0.98, MAPE 0.55 %, max 1.7 %)."""
    from accelmodel.validation import hwnasbench_compare as H

    res = H.compare(H.load_fbnet_reference(), "cifar100", space="fbnet")["eyeriss_latency_ms"]
    a = res["agreement"]
    print(f"eyeriss-hwnasbench FBNet CIFAR-100 (n={a.n}): Kendall tau-b {a.kendall_tau:.4f}, MAPE {a.mape:.2%}, "
          f"max {a.max_ape:.2%}")
    assert a.n == 500
    assert a.kendall_tau >= 0.95 and a.mape <= 0.05
    assert a.kendall_tau >= 0.97 and a.mape <= 0.01 and a.max_ape <= 0.03


# ---- the Eyeriss chip (eyeriss) ----------------------------------------------------------------------

def test_alexnet_conv_on_the_chip(reference):
    chip = yaml.safe_load((reference / "board_measurements.yaml").read_text())["eyeriss_chip"]
    measured = chip["alexnet_conv_layers"]
    got = chip_figures("alexnet", 4)
    print(f"AlexNet CONV N=4 on eyeriss: {got['fps']:.1f} fps (meas. {measured['frames_per_second']}), "
          f"{got['power_mw']:.0f} mW (meas. {measured['power_mw']}), "
          f"{got['dram_per_mac']:.4f} DRAM acc/MAC (meas. {measured['dram_accesses_per_mac']})")
    assert got["macs"] == pytest.approx(4 * 666e6, rel=0.01)
    assert got["fps"] == pytest.approx(measured["frames_per_second"], rel=0.10)
    assert got["power_mw"] == pytest.approx(measured["power_mw"], rel=0.20)
    assert got["dram_per_mac"] == pytest.approx(measured["dram_accesses_per_mac"], rel=0.25)


#: VGG-16 CONV layers on the chip, batch N=3: Chen et al., JSSC 52(1) 2017, abstract and Sec. VI:
#: "0.7 frames/s and 0.0035 DRAM access/MAC for VGG-16 at 236 mW (N = 3)".
VGG16_ON_CHIP = {"frames_per_second": 0.7, "power_mw": 236, "dram_accesses_per_mac": 0.0035}


def test_vgg16_conv_power_and_dram_on_the_chip():
    got = chip_figures("vgg16", 3)
    print(f"VGG-16 CONV N=3 on eyeriss: {got['fps']:.2f} fps (meas. 0.7), {got['power_mw']:.0f} mW (meas. 236), "
          f"{got['dram_per_mac']:.4f} DRAM acc/MAC (meas. 0.0035)")
    assert got["macs"] == pytest.approx(3 * 15.35e9, rel=0.01)
    assert got["power_mw"] == pytest.approx(VGG16_ON_CHIP["power_mw"], rel=0.20)
    assert got["dram_per_mac"] == pytest.approx(VGG16_ON_CHIP["dram_accesses_per_mac"], rel=0.25)


#: Why the VGG-16 frame rate is a known gap (JSSC 2017, Sec. VI-B and the captions of Tables V/VI; the tables
#: themselves are images in every text copy we found, so the per-layer chip latencies are not used here):
#: - the chip itself blames processing-pass ramp-up: early VGG layers (large fmaps) need more passes, each pass
#:   loads the PE array from the GLB before it computes, and CONV1-2 takes ~4x as long as CONV4-2 at equal MACs.
#:   The model has no per-pass cost and its mapping space goes the other way: conv1_2 342.5 ms vs conv4_2 195.3 ms
#:   (1.8x), 3,584 vs 16,384 passes. A uniform per-pass cost that brought VGG-16 to 0.7 fps (3,366 cycles/pass)
#:   would drop AlexNet to 11.6 fps, so the chip's VGG pass schedule (unpublished) differs from the model's.
#: - the link (60 MHz, as measured) and the DRAM overlap (filters preloaded during a pass, fmap loads and dumps
#:   stalling the array, JSSC Sec. V-A / VI-A) are in the spec and give AlexNet 34.8 fps (34.7); they are not the
#:   missing mechanism (fully serialised DRAM gives VGG-16 1.14 fps and AlexNet 29.9).
#: - the 16-bit ifmap GIN (Sec. V-B) as a bound: on the energy-optimal mappings VGG-16 0.66 fps but AlexNet
#:   14.9 fps; with a latency-aware mapping choice the bound is avoided (AlexNet 33.0, VGG-16 1.56 fps).
#: Chip: 53.8 MACs/cycle on VGG-16 vs 115.5 on AlexNet; model: 98.6 on VGG-16.
@pytest.mark.xfail(strict=True, reason="model 1.28 fps vs chip 0.7 on VGG-16: the chip loses time to per-pass "
                   "ramp-up on the many passes its large-fmap layers need (JSSC Sec. VI-B); the model has no per-pass "
                   "cost and its mapping space gives early layers fewer passes, and the chip's VGG-16 mappings and "
                   "ramp-up cost are not published (see the comment above)")
def test_vgg16_conv_frame_rate_on_the_chip():
    got = chip_figures("vgg16", 3)
    assert got["fps"] == pytest.approx(VGG16_ON_CHIP["frames_per_second"], rel=0.10)
