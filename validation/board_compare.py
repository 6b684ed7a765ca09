"""Every entry of the reference folder's board_measurements.yaml against the matching model.

One row per published quantity: entry, quantity, published value, model value, relative error
(model / published - 1) and a status: ``ok``, ``model not available`` (the spec is not installed yet; the row
is computed automatically once it is) or ``failed: <error>`` (the model raised). An entry this module does
not know is reported as ``no model mapping`` rather than dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd
import yaml

from ..estimate import configure as configure_arch
from ..estimate import map_layers
from ..workloads import get as get_network
from .hwnasbench_compare import reference_dir, spec_available


def measurements_path() -> Path:
    return reference_dir() / "board_measurements.yaml"


def _row(entry, quantity, published, model, spec, status="ok", note=""):
    rel = (model / published - 1.0) if (status == "ok" and published) else None
    return {"entry": entry, "quantity": quantity, "published": published, "model": model, "rel_error": rel,
            "spec": spec, "status": status, "note": note}


def chip_layers(network: str, batch: int, arch="eyeriss") -> pd.DataFrame:
    """One row per CONV layer of a classic network at `batch` on the Eyeriss chip spec, in the units of JSSC
    Tables V/VI: ``latency_ms``, ``processing_ms`` (every DRAM transfer hidden: the tables' processing latency),
    ``power_mw`` (on chip, DRAM excluded), ``glb_mb`` / ``dram_mb`` (16-bit words x 2 bytes, 10^6 bytes), ``macs``,
    ``pes`` in use, processing ``passes``, the ``bound``, and the RS factors (``m0`` ... ``g2``) with the chip's
    names for them (JSSC Table III: set ``R x e``, p = m0, q = c0, r = c1, t = m1 g1, n = n0, m = m0 m1 m2) and the
    GLB split (``glb_ifmap_kb``, ``glb_psum_kb``). `arch` is the chip spec (a name, dict or ArchSpec)."""
    convs = [layer for layer in get_network(network, batch=batch).layers if layer.op == "conv2d"]
    _, mapper, config = configure_arch(arch)
    costs = map_layers(convs, mapper, config, config.default_objective)
    word_bytes = config.word_bits / 8
    rows = []
    for layer, cost in zip(convs, costs):
        f = mapper.best_mapping(layer, config)
        r, s, u = layer.R, layer.S, layer.stride[0]
        groups = layer.groups if config.grouped_conv == "grouped" else 1
        in_rows, in_cols = (f["e1"] - 1) * u + r, (layer.Q - 1) * u + s
        rows.append({
            "layer": layer.name, "macs": layer.macs, "latency_ms": cost.latency_s * 1e3,
            "processing_ms": cost.extra["processing_cycles"] / config.clock_hz * 1e3,
            "power_mw": (cost.energy_total_j - cost.energy_j.get("dram", 0.0)) / cost.latency_s * 1e3,
            "glb_mb": cost.accesses["glb"] * word_bytes / 1e6, "dram_mb": cost.accesses["dram"] * word_bytes / 1e6,
            "pes": cost.extra["pes_used"], "passes": cost.extra["passes"], "bound": cost.extra["bound"], **f,
            "set": f"{r}x{f['e1']}", "p": f["m0"], "q": f["c0"], "r": f["c1"], "t": f["m1"] * f["g1"], "n": f["n0"],
            "m": f["m0"] * f["m1"] * f["m2"], "groups": groups,
            "glb_ifmap_kb": f["n0"] * f["g1"] * f["c0"] * f["c1"] * in_rows * in_cols * word_bytes / 1024,
            "glb_psum_kb": f["n0"] * f["g1"] * f["m0"] * f["m1"] * f["m2"] * f["e1"] * layer.Q * word_bytes / 1024,
            "mapping": cost.mapping})
    return pd.DataFrame(rows)


def chip_figures(network: str, batch: int, arch="eyeriss") -> dict:
    """What the Eyeriss chip papers measure on a classic network's CONV layers at `batch`: frames/s, on-chip
    power in mW (DRAM excluded, as the silicon measurement), DRAM accesses per MAC, and the MAC count. `arch`
    is the chip spec (a name, dict or ArchSpec, e.g. a re-calibrated copy)."""
    convs = [layer for layer in get_network(network, batch=batch).layers if layer.op == "conv2d"]
    _, mapper, config = configure_arch(arch)
    costs = map_layers(convs, mapper, config, config.default_objective)
    latency_s = sum(c.latency_s for c in costs)
    on_chip_j = sum(c.energy_total_j - c.energy_j.get("dram", 0.0) for c in costs)
    macs = sum(layer.macs for layer in convs)
    return {"fps": batch / latency_s, "power_mw": on_chip_j / latency_s * 1e3,
            "dram_per_mac": sum(c.accesses.get("dram", 0.0) for c in costs) / macs, "macs": macs}


def vgg16_layers_path() -> Path:
    return reference_dir() / "eyeriss_jssc2017_vgg16_layers.csv"


def _chip_and_model(path: Path, what: str, network: str, batch: int, arch) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The chip's per-layer reference table at `path` and the model's `chip_layers` of the same CONV layers."""
    if not path.exists():
        raise FileNotFoundError(f"Eyeriss {what} {path} does not exist (set ACCELMODEL_REFERENCE_DIR)")
    chip = pd.read_csv(path)
    model = chip_layers(network, batch, arch)
    if len(chip) != len(model):
        raise ValueError(f"{path} has {len(chip)} layers, the model's {network} {len(model)} CONV layers")
    return chip, model


def vgg16_layers_vs_chip(path: str | Path | None = None, arch="eyeriss") -> pd.DataFrame:
    """VGG-16's 13 CONV layers at N=3, model (`chip_layers`) beside the chip (JSSC Table VI, the reference file), in
    order; ``rel_<quantity>`` = model / chip - 1 for total and processing latency, power, GLB and DRAM traffic."""
    path = Path(path) if path is not None else vgg16_layers_path()
    chip, model = _chip_and_model(path, "VGG-16 per-layer measurements", "vgg16", 3, arch)
    out = model[["layer", "macs", "latency_ms", "processing_ms", "power_mw", "glb_mb", "dram_mb", "pes", "bound",
                 "mapping"]].copy()
    out.insert(1, "chip_layer", chip["layer"].to_numpy())
    pairs = {"latency_ms": "total_latency_ms", "processing_ms": "processing_latency_ms", "power_mw": "power_mw",
             "glb_mb": "glb_access_mb", "dram_mb": "dram_access_mb", "pes": "active_pes"}
    for mine, theirs in pairs.items():
        out[f"chip_{mine}"] = chip[theirs].to_numpy(dtype=float)
        out[f"rel_{mine}"] = out[mine] / out[f"chip_{mine}"] - 1.0
    out["chip_macs"] = chip["macs_g_batch3"].to_numpy(dtype=float) * 1e9
    return out


def alexnet_mapping_path() -> Path:
    return reference_dir() / "eyeriss_jssc2017_alexnet_mapping.csv"


def alexnet_mapping_vs_table3(path: str | Path | None = None, arch="eyeriss") -> pd.DataFrame:
    """AlexNet's five CONV layers at N=4: the mapping the model picks in the chip's notation beside JSSC Table III
    (the reference file): PE set, p q r t n m and the GLB split; ``chip_pes`` = R e r t."""
    path = Path(path) if path is not None else alexnet_mapping_path()
    chip, model = _chip_and_model(path, "AlexNet mapping table", "alexnet", 4, arch)
    out = model[["layer", "set", "p", "q", "r", "t", "n", "m", "pes", "glb_ifmap_kb", "glb_psum_kb", "latency_ms",
                 "processing_ms"]].copy()
    out.insert(1, "chip_layer", chip["layer"].to_numpy())
    out["chip_set"] = [f"{r}x{e}" for r, e in zip(chip["R"], chip["e"])]
    for k in ("p", "q", "r", "t", "n", "m"):
        out[f"chip_{k}"] = chip[k].to_numpy()
    out["chip_pes"] = (chip["R"] * chip["e"] * chip["r"] * chip["t"]).to_numpy()
    out["chip_glb_ifmap_kb"] = chip["glb_ifmap_kb"].to_numpy()
    out["chip_glb_psum_kb"] = chip["glb_psum_kb"].to_numpy()
    return out


def eyeriss_chip(entry: dict) -> list[dict]:
    """AlexNet's five CONV layers at batch 4 on the `eyeriss` spec (the chip, 200 MHz)."""
    spec = "eyeriss"
    published = entry["alexnet_conv_layers"]
    got = chip_figures("alexnet", 4, spec)
    return [
        _row("eyeriss_chip", "AlexNet CONV1-5 frames/s (N=4)", published["frames_per_second"], got["fps"], spec),
        _row("eyeriss_chip", "AlexNet CONV1-5 chip power mW", published["power_mw"], got["power_mw"], spec,
             note="calibrated: the spec's MAC and per-cycle energies are fitted on this and VGG-16's 236 mW"),
        _row("eyeriss_chip", "AlexNet CONV1-5 DRAM accesses/MAC", published["dram_accesses_per_mac"],
             got["dram_per_mac"], spec),
    ]


def zc706_fpga_vgg16(entry: dict) -> list[dict]:
    """VGG-16 (ImageNet) throughput on the ZC706 model with each design's DSP count."""
    spec = "fpga-zc706"
    rows = []
    for impl in entry["implementations"]:
        quantity = f"VGG16 GOP/s, {impl['name']} ({impl['dsp_used']} DSP)"
        if not spec_available(spec):
            rows.append(_row("zc706_fpga_vgg16", quantity, impl["gop_per_s"], None, spec,
                             status="model not available", note=f"spec {spec!r} is not installed"))
            continue
        from ..estimate import estimate
        try:
            est = estimate("vgg16", arch=spec, dataset="imagenet", budget={"dsp": impl["dsp_used"]})
            gops = est.throughput_gops
            if gops is None:
                raise ValueError("the estimate has no throughput_gops")
            rows.append(_row("zc706_fpga_vgg16", quantity, impl["gop_per_s"], float(gops), spec,
                             note="our chunk-pipeline model at this DSP budget; only the first design is that "
                                  "architecture, the others are different designs with their own dataflows"))
        except Exception as exc:  # reported, not hidden: the row says why
            rows.append(_row("zc706_fpga_vgg16", quantity, impl["gop_per_s"], None, spec, status=f"failed: {exc}"))
    return rows


def e2e_perf_budgets(entry: dict) -> list[dict]:
    """The E2E-Perf budgets against our generic-<size> specs (parameters, not measurements: E2E-Perf publishes
    its own estimator's error vs boards, which we list as the bar, with no board latency to compare)."""
    from ..specs import load_spec
    rows = []
    for size in ("small", "medium", "large"):
        spec = f"generic-{size}"
        if not spec_available(spec):
            rows.append(_row("e2e_perf_budgets", f"{size} budget", None, None, spec, status="model not available"))
            continue
        s = load_spec(spec)
        for key in ("dsp", "on_chip_mbit"):
            rows.append(_row("e2e_perf_budgets", f"{size} budget {key}", entry[size][key],
                             float(s.get(f"budget.{key}", float)), spec, note="spec parameter"))
    for paradigm, err in entry["reported_estimation_error_vs_board"].items():
        rows.append(_row("e2e_perf_budgets", f"E2E-Perf's own error vs board, {paradigm} (avg)", err["avg"], None,
                         "-", status="no board latency published", note="the bar a board comparison would have to meet"))
    return rows


def nahas_edge_accelerator(entry: dict) -> list[dict]:
    """Peak int8 TOPS of the baseline, and each baseline parameter, against the `nahas-edge` spec."""
    spec = "nahas-edge"
    if not spec_available(spec):
        return [_row("nahas_edge_accelerator", "peak TOPS", entry["baseline"]["peak_tops_int8"], None, spec,
                     status="model not available")]
    _, _, config = configure_arch(spec)
    base = entry["baseline"]
    rows = [_row("nahas_edge_accelerator", "baseline peak TOPS (int8)", base["peak_tops_int8"], float(config.peak_tops),
                 spec, note="derived: PEs x lanes x SIMD units x width x 2 ops x clock")]
    mine = dict(config.params)
    mine["clock_ghz"] = config.clock_hz / 1e9
    mine["simd_width"] = config.simd_width
    for key, value in base.items():
        if key in mine:
            rows.append(_row("nahas_edge_accelerator", f"baseline {key}", value, float(mine[key]), spec,
                             note="spec parameter"))
    return rows


COMPARATORS: dict[str, Callable[[dict], list[dict]]] = {
    "eyeriss_chip": eyeriss_chip,
    "zc706_fpga_vgg16": zc706_fpga_vgg16,
    "e2e_perf_budgets": e2e_perf_budgets,
    "nahas_edge_accelerator": nahas_edge_accelerator,
}


def compare(path: str | Path | None = None) -> pd.DataFrame:
    path = Path(path) if path is not None else measurements_path()
    if not path.exists():
        raise FileNotFoundError(f"board measurements {path} do not exist (set ACCELMODEL_REFERENCE_DIR)")
    data = yaml.safe_load(path.read_text())
    rows = []
    for name, entry in data.items():
        fn = COMPARATORS.get(name)
        if fn is None:
            rows.append(_row(name, "(whole entry)", None, None, "-", status="no model mapping",
                             note="this entry is new to board_compare.COMPARATORS"))
            continue
        try:
            rows.extend(fn(entry))
        except Exception as exc:  # one broken model must not hide the other entries
            rows.append(_row(name, "(whole entry)", None, None, "-", status=f"failed: {type(exc).__name__}: {exc}"))
    return pd.DataFrame(rows)
