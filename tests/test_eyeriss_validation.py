"""Eyeriss models against published figures: HW-NAS-Bench's Eyeriss columns and the Eyeriss chip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import kendalltau

from accelmodel import estimate
from accelmodel.validation.board_compare import (alexnet_mapping_vs_table3, chip_figures, chip_layers,
                                                  vgg16_layers_vs_chip)
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
    """The power is one of the two calibration points of the chip's energies (the MAC energy and the per-cycle energy
    are fitted on AlexNet's 278 and VGG-16's 236 mW; the per-layer powers are the check, below); DRAM is not fitted."""
    got = chip_figures("vgg16", 3)
    print(f"VGG-16 CONV N=3 on eyeriss: {got['fps']:.3f} fps (meas. 0.7), {got['power_mw']:.0f} mW (meas. 236), "
          f"{got['dram_per_mac']:.4f} DRAM acc/MAC (meas. 0.0035)")
    assert got["macs"] == pytest.approx(3 * 15.35e9, rel=0.01)
    assert got["power_mw"] == pytest.approx(VGG16_ON_CHIP["power_mw"], rel=0.20)
    assert got["dram_per_mac"] == pytest.approx(VGG16_ON_CHIP["dram_accesses_per_mac"], rel=0.25)


def test_vgg16_conv_frame_rate_on_the_chip():
    """0.7 fps (JSSC): the 224- to 28-column layers are bound by the psum networks (64 bits each way) because a pass
    there accumulates only 1-2 channels (one image's ifmap rows of a pass fit one 4 KB GLB bank) and moves every psum
    in and out once per channel pass (JSSC Sec. VI-B: more passes on the large fmaps)."""
    got = chip_figures("vgg16", 3)
    print(f"VGG-16 CONV N=3 on eyeriss: {got['fps']:.3f} fps (meas. {VGG16_ON_CHIP['frames_per_second']})")
    assert got["fps"] == pytest.approx(VGG16_ON_CHIP["frames_per_second"], rel=0.10)


def test_vgg16_layers_on_the_chip(reference):
    """Every CONV layer's total latency (DRAM fmap traffic added, as the chip runs) within 25 % of JSSC Table VI and
    its processing latency (every DRAM transfer hidden) too; the GLB traffic, never fitted, within 15 % (the psum
    accumulation the per-pass mechanism turns on is the chip's: 2.4 GB on CONV1-2)."""
    frame = vgg16_layers_vs_chip(reference / "eyeriss_jssc2017_vgg16_layers.csv")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(frame[["layer", "latency_ms", "chip_latency_ms", "rel_latency_ms", "processing_ms", "chip_processing_ms",
                     "rel_processing_ms", "rel_power_mw", "rel_glb_mb", "rel_dram_mb", "pes", "bound"]].round(3))
    assert len(frame) == 13
    assert np.allclose(frame["macs"], frame["chip_macs"], rtol=0.03)  # Table VI's MACs, rounded to 0.01 G
    assert (frame["rel_latency_ms"].abs() <= 0.25).all()
    assert (frame["rel_processing_ms"].abs() <= 0.25).all()
    assert (frame["rel_glb_mb"].abs() <= 0.15).all()
    # regression guards, tighter than the bounds: every layer within 11 % (total) and 10 % (processing)
    assert (frame["rel_latency_ms"].abs() <= 0.11).all() and (frame["rel_processing_ms"].abs() <= 0.10).all()


#: AlexNet's CONV layers on the chip, N=4 (JSSC Table V; text: github.com/cucapra/fodlam, data/eyeriss-alexnet.csv,
#: proofread OCR whose columns sum to the table's totals, 115.3 and 103.5 ms): total latency, processing latency (ms),
#: power (mW), active PEs. The reference folder has no per-layer AlexNet file.
ALEXNET_LAYERS_ON_CHIP = {"conv1": (20.9, 16.5, 332, 154), "conv2": (41.9, 39.2, 288, 135),
                          "conv3": (23.6, 21.3, 266, 156), "conv4": (18.4, 16.0, 235, 156),
                          "conv5": (10.5, 10.0, 236, 156)}


def test_alexnet_layers_on_the_chip():
    """Each CONV layer's total and processing latency within 25 % of JSSC Table V, its PEs in use within 5 %."""
    frame = chip_layers("alexnet", 4)
    for row in frame.itertuples():
        total, processing, power, pes = ALEXNET_LAYERS_ON_CHIP[row.layer]
        print(f"{row.layer}: total {row.latency_ms:.1f} ms ({total}), processing {row.processing_ms:.1f} ms "
              f"({processing}), {row.power_mw:.0f} mW ({power}), {row.pes} PEs ({pes}) | {row.mapping}")
        assert row.latency_ms == pytest.approx(total, rel=0.25)
        assert row.processing_ms == pytest.approx(processing, rel=0.25)
        assert row.pes == pytest.approx(pes, rel=0.05)
    assert 4e3 / frame["latency_ms"].sum() == pytest.approx(34.7, rel=0.10)


def test_alexnet_mapping_against_table3(reference):
    """The mapping the model picks, in JSSC Table III's notation: p (filters per PE) and m (filters whose psums the
    GLB holds) as on the chip on all five layers; CONV1 exactly the chip's (11 x 7 set, two side by side, p 16, q 1,
    r 1, n 1, m 96, its GLB split 15.5 / 72.1 KB)."""
    frame = alexnet_mapping_vs_table3(reference / "eyeriss_jssc2017_alexnet_mapping.csv")
    print(frame.drop(columns=["latency_ms", "processing_ms"]).to_string())
    assert (frame["p"] == frame["chip_p"]).all() and (frame["m"] == frame["chip_m"]).all()
    conv1 = frame.iloc[0]
    assert conv1["set"] == conv1["chip_set"] == "11x7"
    assert [conv1[k] for k in "pqrtnm"] == [conv1[f"chip_{k}"] for k in "pqrtnm"]
    assert conv1["glb_ifmap_kb"] == pytest.approx(conv1["chip_glb_ifmap_kb"], abs=0.1)
    assert conv1["glb_psum_kb"] == pytest.approx(conv1["chip_glb_psum_kb"], abs=0.1)
    # CONV3-5: 3 x 13 sets on 156 PEs holding 84.5 KB of psums, as on the chip
    assert (frame["set"][2:] == "3x13").all() and (frame["pes"][2:] == 156).all()
    assert np.allclose(frame["glb_psum_kb"][2:], frame["chip_glb_psum_kb"][2:], atol=0.1)


def test_chip_power_per_layer():
    """The per-cycle energy (clock, register spads) is fitted with the MAC energy on the two networks' powers only;
    JSSC Tables V/VI's 18 per-layer powers (218-332 mW) check the split: each within 30 %."""
    vgg_chip = [247, 218, 242, 231, 254, 235, 233, 278, 261, 240, 258, 236, 230]  # JSSC Table VI, mW
    alex_chip = [v[2] for v in ALEXNET_LAYERS_ON_CHIP.values()]
    for network, batch, chip in (("vgg16", 3, vgg_chip), ("alexnet", 4, alex_chip)):
        model = chip_layers(network, batch)["power_mw"].to_numpy()
        print(network, np.round(model).astype(int).tolist(), chip)
        assert np.all(np.abs(model / np.array(chip) - 1) <= 0.30)
