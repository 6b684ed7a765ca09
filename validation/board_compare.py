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


def eyeriss_chip(entry: dict) -> list[dict]:
    """AlexNet's five CONV layers at batch 4 on the `eyeriss` spec (the chip, 200 MHz)."""
    spec = "eyeriss"
    published = entry["alexnet_conv_layers"]
    got = chip_figures("alexnet", 4, spec)
    return [
        _row("eyeriss_chip", "AlexNet CONV1-5 frames/s (N=4)", published["frames_per_second"], got["fps"], spec),
        _row("eyeriss_chip", "AlexNet CONV1-5 chip power mW", published["power_mw"], got["power_mw"], spec,
             note="calibrated: the spec's MAC energy is set on this figure"),
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
