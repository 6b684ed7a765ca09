"""Re-derive the calibrated energy parameters of the two Eyeriss specs (run after changing the RS cost model).

    python benchmarks/calibrate_eyeriss.py

eyeriss-hwnasbench: two parameters, the MAC energy and one scale on every access energy (the DCP script's units
rf 2.0, noc 2.0, glb 0.5, dram 0.3), fitted by relative least squares on the four published example energies
(NB201 #0 on CIFAR-10/100 and ImageNet16-120, FBNet k3_e1 x22 on CIFAR-100). The mapper's choice does not depend
on them (latency objective, ties broken by energy, whose access part only scales), so the energy of each example
is exactly mac * A + scale * B with A, B measured at two settings.

eyeriss: the absolute MAC energy (every other energy a fixed ISCA Table IV multiple of it) set so AlexNet CONV1-5
at N=4 draws the measured 278 mW on chip; the mapping (energy objective) is invariant to the common scale.
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


def hwnasbench_examples(examples: dict):
    nb = examples["nasbench201"][0]
    fb = examples["fbnet"][0]
    ops = ",".join(str(i) for i in fb["op_idx_list"])
    nets = [(f"NB201 #0 {d}", lambda d=d: nasbench201(nb["arch_str"], d), nb[d]["eyeriss_energy"])
            for d in ("cifar10", "cifar100", "ImageNet16-120")]
    nets.append(("FBNet k3_e1 x22 cifar100", lambda: get(f"fbnet:{ops}", dataset="cifar100"),
                 fb["cifar100"]["eyeriss_energy"]))
    return nets


def fit_hwnasbench(examples: dict) -> tuple[float, float]:
    def energy(build, mac, scale):
        spec = _spec_with("eyeriss-hwnasbench", {"mac": mac, **{k: v * scale for k, v in DCP_UNITS.items()}})
        return estimate(build(), spec).energy_mj

    nets = hwnasbench_examples(examples)
    rows, ref = [], []
    for _, build, y in nets:
        e11, e21 = energy(build, 1.0, 1.0), energy(build, 2.0, 1.0)
        a = e21 - e11
        rows.append((a, e11 - a))
        ref.append(y)
    design = np.array(rows) / np.array(ref)[:, None]
    (mac, scale), *_ = np.linalg.lstsq(design, np.ones(len(ref)), rcond=None)
    print("eyeriss-hwnasbench: mac %.4g pJ, access scale %.4g (rf/noc %.4g, glb %.4g, dram %.4g)"
          % (mac, scale, 2 * scale, 0.5 * scale, 0.3 * scale))
    for (label, _, y), (a, b) in zip(nets, rows):
        pred = mac * a + scale * b
        print(f"  {label}: {pred:.4f} mJ vs {y:.4f} ({pred / y - 1:+.2%})")
    return float(mac), float(scale)


def alexnet_chip_power(mac: float) -> tuple[dict, dict]:
    """AlexNet (N=4) and VGG-16 (N=3) chip figures with every `eyeriss` energy a fixed multiple of `mac`."""
    spec = _spec_with("eyeriss", {"mac": mac, **{k: v * mac for k, v in ISCA_MULTIPLES.items()}})
    return chip_figures("alexnet", 4, spec), chip_figures("vgg16", 3, spec)


def fit_chip(target_mw: float = 278.0) -> float:
    alex, _ = alexnet_chip_power(1.0)
    mac = target_mw / alex["power_mw"]
    alex, vgg = alexnet_chip_power(mac)
    print(f"eyeriss: mac {mac:.4g} pJ -> AlexNet CONV N=4 {alex['power_mw']:.1f} mW, {alex['fps']:.1f} fps, "
          f"{alex['dram_per_mac']:.4f} DRAM acc/MAC; VGG-16 N=3 {vgg['power_mw']:.1f} mW (meas. 236), "
          f"{vgg['fps']:.2f} fps, {vgg['dram_per_mac']:.4f} DRAM acc/MAC")
    return mac


if __name__ == "__main__":
    examples = yaml.safe_load((reference_dir() / "hwnasbench_examples.yaml").read_text())
    fit_hwnasbench(examples)
    fit_chip()
