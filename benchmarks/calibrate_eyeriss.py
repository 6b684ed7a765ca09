"""Re-derive the calibrated energy parameters of the two Eyeriss specs (run after changing the RS cost model).

    python benchmarks/calibrate_eyeriss.py

eyeriss-hwnasbench, NAS-Bench-201 convention (search_space_overrides.nasbench201): two parameters, one scale on
the DCP script's unit energies (mac 1, rf 2, noc 2, glb 0.5, dram 0.3 pJ) and the energy per word of element-wise
traffic (adds), fitted by relative least squares on seven published NB201 energies: network #0 on CIFAR-10/100 and
ImageNet16-120 (hwnasbench_examples.yaml) and the smallest and largest energies of the CIFAR-10 and
ImageNet16-120 tables as EvoXBench quotes them (below). The mapping rule ranks by the selection energies, so the
energy of each network is exactly scale * A + e_add * W with A, W measured at two settings.

eyeriss-hwnasbench, defaults (FBNet and everything else): one scale on the same DCP unit energies (MAC included),
fitted on the one published FBNet energy (all-k3_e1 on CIFAR-100); the latency-optimal mappings do not depend on it.

eyeriss: two parameters, the absolute MAC energy (every access energy a fixed ISCA Table IV multiple of it) and the
energy per core cycle (clock network and the PEs' register spads, which toggle whether the array computes or waits),
set so AlexNet CONV1-5 at N=4 and VGG-16 CONV at N=3 draw the measured 278 and 236 mW on chip. The per-cycle energy
enters the energy the mapper minimises, so the mappings move with the fit: it iterates to a fixed point. Tables V/VI's
per-layer powers check it.
Prints the fitted values; it does not edit the specs.
"""

from __future__ import annotations

import copy

import numpy as np
import yaml

from accelmodel import estimate
from accelmodel.specs import load_spec
from accelmodel.validation.board_compare import chip_figures
from accelmodel.validation.hwnasbench_compare import reference_dir
from accelmodel.workloads import get, nasbench201

DCP_UNITS = {"rf": 2.0, "noc": 2.0, "glb": 0.5, "dram": 0.3}
ISCA_MULTIPLES = {"rf": 1.0, "noc": 2.0, "glb": 6.0, "dram": 200.0}


def _spec_with(name: str, energies: dict) -> dict:
    data = copy.deepcopy(load_spec(name).data)
    data["energy_pj"].update(energies)
    return data


#: Smallest and largest Eyeriss energies (mJ) of HW-NAS-Bench's NB201 tables as EvoXBench's normalisation bounds
#: quote them (github.com/EMI-Group/evoxbench); the all-none/skip and the all-nor_conv_3x3 cells.
NB201_EXTREMES = [
    ("cifar10", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 0.3469645085),
    ("cifar10", "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
     2.2262379485),
    ("ImageNet16-120", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 0.08940838),
    ("ImageNet16-120", "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
     0.569677132),
]


def _with_nb201_energies(scale: float, e_add: float) -> dict:
    data = copy.deepcopy(load_spec("eyeriss-hwnasbench").data)
    data["search_space_overrides"]["nasbench201"].update(
        {"energy_pj.mac": scale, **{f"energy_pj.{k}": v * scale for k, v in DCP_UNITS.items()},
         "energy_pj.elementwise": e_add})
    return data


def fit_hwnasbench_nb201(examples: dict) -> tuple[float, float]:
    nb = examples["nasbench201"][0]
    nets = [(f"NB201 #0 {d}", d, nb["arch_str"], nb[d]["eyeriss_energy"]) for d in ("cifar10", "cifar100", "ImageNet16-120")]
    nets += [(f"NB201 {d} {'min' if 'none' in a else 'max'}", d, a, y) for d, a, y in NB201_EXTREMES]
    rows, ref = [], []
    for _, d, arch, y in nets:
        base = estimate(nasbench201(arch, d), _with_nb201_energies(1.0, 0.0)).energy_mj
        per_word = estimate(nasbench201(arch, d), _with_nb201_energies(1.0, 1.0)).energy_mj - base
        rows.append((base, per_word))
        ref.append(y)
    design = np.array(rows) / np.array(ref)[:, None]
    (scale, e_add), *_ = np.linalg.lstsq(design, np.ones(len(ref)), rcond=None)
    print("eyeriss-hwnasbench nasbench201: scale %.5g (mac %.5g, rf/noc %.5g, glb %.4g, dram %.4g pJ), "
          "elementwise %.4g pJ/word" % (scale, scale, 2 * scale, 0.5 * scale, 0.3 * scale, e_add))
    for (label, *_r, y), (a, w) in zip(nets, rows):
        pred = scale * a + e_add * w
        print(f"  {label}: {pred:.4f} mJ vs {y:.4f} ({pred / y - 1:+.2%})")
    return float(scale), float(e_add)


def fit_hwnasbench_default_scale(examples: dict) -> float:
    fb = examples["fbnet"][0]
    net = get("fbnet:" + ",".join(str(i) for i in fb["op_idx_list"]), dataset="cifar100")

    def energy(scale):
        units = {"mac": 1.0, **DCP_UNITS}
        return estimate(net, _spec_with("eyeriss-hwnasbench", {
            **{k: v * scale for k, v in units.items()}, "elementwise": DCP_UNITS["dram"] * scale})).energy_mj
    scale = fb["cifar100"]["eyeriss_energy"] / energy(1.0)
    print(f"eyeriss-hwnasbench defaults: scale {scale:.5g} (mac {scale:.5g}, rf/noc {2 * scale:.5g}, "
          f"glb {0.5 * scale:.5g}, dram {0.3 * scale:.5g} pJ; FBNet k3_e1 x22: {energy(scale):.4f} mJ vs "
          f"{fb['cifar100']['eyeriss_energy']:.4f})")
    return float(scale)


def chip_power(mac: float, static: float) -> tuple[dict, dict]:
    """AlexNet (N=4) and VGG-16 (N=3) chip figures with every `eyeriss` access energy a fixed multiple of `mac` and
    `static` pJ per core cycle."""
    spec = _spec_with("eyeriss", {"mac": mac, **{k: v * mac for k, v in ISCA_MULTIPLES.items()},
                                  "static_per_cycle": static})
    return chip_figures("alexnet", 4, spec), chip_figures("vgg16", 3, spec)


def fit_chip(targets_mw: tuple[float, float] = (278.0, 236.0), rounds: int = 20) -> tuple[float, float]:
    """(MAC pJ, static pJ/cycle) giving AlexNet and VGG-16 the measured chip powers. Each round splits each network's
    on-chip energy into mac x (access work) + static x cycles under the current mappings and solves the 2 x 2 system;
    it stops when the mappings (hence the work and cycles) no longer move."""
    spec = load_spec("eyeriss")
    mac, static = spec.get("energy_pj.mac"), spec.get("energy_pj.static_per_cycle")
    clock = spec.get("clock_mhz") * 1e6
    batches = (4, 3)
    for _ in range(rounds):
        rows, rhs = [], []
        for got, batch, target in zip(chip_power(mac, static), batches, targets_mw):
            seconds = batch / got["fps"]
            cycles = seconds * clock
            energy_pj = got["power_mw"] * 1e-3 * seconds * 1e12
            work = (energy_pj - static * cycles) / mac
            rows.append((work, cycles))
            rhs.append(target * 1e-3 * seconds * 1e12)
        new_mac, new_static = np.linalg.solve(np.array(rows), np.array(rhs))
        done = abs(new_mac / mac - 1) < 1e-9 and abs(new_static - static) < 1e-6 * max(static, 1.0)
        mac, static = float(new_mac), float(new_static)
        if done:
            break
    alex, vgg = chip_power(mac, static)
    print(f"eyeriss: mac {mac:.4g} pJ (rf {mac:.4g}, noc {2 * mac:.4g}, glb {6 * mac:.4g}, dram {200 * mac:.4g}), "
          f"static {static:.4g} pJ/cycle ({static * clock * 1e-9:.1f} mW) -> AlexNet CONV N=4 {alex['power_mw']:.1f} mW, "
          f"{alex['fps']:.2f} fps, {alex['dram_per_mac']:.5f} DRAM acc/MAC; VGG-16 N=3 {vgg['power_mw']:.1f} mW, "
          f"{vgg['fps']:.3f} fps, {vgg['dram_per_mac']:.5f} DRAM acc/MAC")
    return mac, static


if __name__ == "__main__":
    examples = yaml.safe_load((reference_dir() / "hwnasbench_examples.yaml").read_text())
    fit_hwnasbench_nb201(examples)
    fit_hwnasbench_default_scale(examples)
    fit_chip()
