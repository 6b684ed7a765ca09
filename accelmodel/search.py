"""Accelerator search on the generic paradigm: sweep the NAHAS edge-accelerator space for one network, and
search (network, accelerator) pairs jointly with NAHAS's reward.

`accelerators` evaluates every point of the space (NAHAS Table 1: 5x5x4x5x5x4x5 = 50,000) with the same
mapper as `estimate` (mappers/generic.py), batched: one Numba kernel call searches the mapping space of
every (unique layer, compute configuration) pair once and answers all register-file x local-memory x
bandwidth variants of that pair in the same pass (a mapping that fits a local memory fits every larger
one; bandwidth only changes the per-step max; the register file only changes local-memory reads). The
sweep uses ``mapspace="pow2"`` by default (power-of-two trip counts); a row equals
``estimate(network, "nahas-edge", budget={<row parameters>, "mapspace": "pow2"})``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from .mappers import check_objective
from .mappers import generic as gm
from .mappers import generic_kernels as gk
from .specs import load_spec
from .workloads import LayerGraph
from .workloads import get as get_network

PARAMS = gm.NAHAS_PARAMS
_INT_PARAMS = ("pes_x", "pes_y", "simd_units", "compute_lanes")
#: Most points one sweep may have (one DataFrame row each; NAHAS's space has 50,000).
MAX_SWEEP_POINTS = 1_000_000


def _graph(network, batch=1, dataset=None) -> LayerGraph:
    if isinstance(network, LayerGraph):
        return network
    return get_network(network, batch=batch, dataset=dataset)


def search_space(space="nahas", arch="nahas-edge") -> dict[str, list]:
    """The parameter space as {parameter: sorted values}: ``"nahas"`` (the spec's ``search_space``, NAHAS
    Table 1) or a dict giving values for some parameters (the others stay at the spec's baseline)."""
    spec = load_spec(arch)
    base = dict(gm.configure(spec).params)
    if isinstance(space, str):
        if space != "nahas":
            raise ValueError(f"space {space!r} is not 'nahas' or a dict of parameter -> values")
        if "search_space" not in spec.data:
            raise ValueError(f"spec {spec.name!r} has no search_space")
        space = spec.data["search_space"]
        if set(space) != set(PARAMS):
            raise ValueError(f"spec {spec.name!r}: search_space must give exactly {list(PARAMS)}, got {sorted(space)}")
    if not isinstance(space, Mapping):
        raise ValueError(f"space must be 'nahas' or a dict, got {type(space).__name__}")
    unknown = set(space) - set(PARAMS)
    if unknown:
        raise ValueError(f"unknown parameter(s) {sorted(unknown)} in space; allowed: {list(PARAMS)}")
    out = {}
    for p in PARAMS:
        values = space.get(p, [base[p]])
        if isinstance(values, (int, float)):
            values = [values]
        values = list(values)
        if not values:
            raise ValueError(f"space parameter {p!r} has no values")
        values = [v.item() if isinstance(v, np.generic) else v for v in values]  # numpy scalars are numbers
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ValueError(f"space parameter {p!r}: value {v!r} must be a positive, finite number")
            if p in _INT_PARAMS and int(v) != v:
                raise ValueError(f"space parameter {p!r}: value {v!r} must be an integer")
        out[p] = sorted({int(v) if p in _INT_PARAMS else float(v) for v in values})
    points = math.prod(len(v) for v in out.values())
    if points > MAX_SWEEP_POINTS:
        raise ValueError(f"the space has {points:,} points; a sweep takes at most {MAX_SWEEP_POINTS:,} (NAHAS's has "
                         "50,000)")
    return out


def check_config(params: Mapping, space="nahas", arch="nahas-edge") -> dict:
    """`params` completed with baseline values and checked against the space; errors say which parameter is
    outside and what the space allows."""
    sp = search_space(space, arch)
    unknown = set(params) - set(PARAMS)
    if unknown:
        raise ValueError(f"unknown accelerator parameter(s) {sorted(unknown)}; allowed: {list(PARAMS)}")
    base = dict(gm.configure(load_spec(arch)).params)
    out = {}
    for p in PARAMS:
        v = params.get(p, base[p])
        if v not in sp[p]:
            raise ValueError(f"{p}={v!r} is outside the search space; allowed: {sp[p]}")
        out[p] = v
    return out


def accelerator_config(params: Mapping, arch="nahas-edge", space="nahas", mapspace="pow2"):
    """The GenericConfig of one point of the space (checked)."""
    full = check_config(params, space, arch)
    return gm.configure(load_spec(arch), {**full, "mapspace": mapspace})


def _grid(sp: dict) -> pd.DataFrame:
    rows = list(itertools.product(*(sp[p] for p in PARAMS)))
    return pd.DataFrame(rows, columns=list(PARAMS))


def pareto_mask(x, y, mask=None) -> np.ndarray:
    """Boolean mask of the rows not dominated in (x, y), both minimised, among rows where `mask` is True (all
    rows by default); of rows with equal (x, y) only the first is on the front."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    out = np.zeros(len(x), dtype=bool)
    idx = np.flatnonzero(mask) if mask is not None else np.arange(len(x))
    if idx.size == 0:
        return out
    order = idx[np.lexsort((y[idx], x[idx]))]
    best = np.inf
    for i in order:
        if y[i] < best:
            out[i] = True
            best = y[i]
    return out


def accelerators(network, space="nahas", area_budget: float | None = None, latency_target: float | None = None,
                 objective: str = "latency", mapspace: str = "pow2", arch: str = "nahas-edge", batch: int = 1,
                 dataset: str | None = None) -> pd.DataFrame:
    """Every accelerator of `space` for `network`: one row per point with its parameters, ``latency_ms``,
    ``energy_mj``, ``area_mm2``, ``peak_tops``, ``valid``, ``reason`` (why invalid) and ``pareto`` (on the
    latency-area front among valid rows).

    `area_budget` (mm^2) and `latency_target` (ms) mark rows over them invalid; when no row meets them the
    call raises a ValueError saying which constraint fails and by how much. Each row uses the mapping that is
    best for `objective` on that accelerator.
    """
    objective = check_objective(objective)
    if mapspace not in gm.MAPSPACES:
        raise ValueError(f"mapspace {mapspace!r} is not one of {list(gm.MAPSPACES)}")
    for name, v in (("area_budget", area_budget), ("latency_target", latency_target)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0):
            raise ValueError(f"{name} must be a positive number, got {v!r}")
    graph = _graph(network, batch, dataset)
    spec = load_spec(arch)
    base = gm.configure(spec)
    if base.kind != "pe_array" or base.area is None:
        raise ValueError(f"arch {spec.name!r} is not a PE-array spec with an area_model; the sweep needs one")
    sp = search_space(space, arch)
    frame = _grid(sp)
    n = len(frame)

    wb, pb = base.word_bytes, base.psum_bytes
    rf_vals = np.array(sp["register_file_kb"], dtype=float)
    lm_vals = np.array(sp["local_memory_mb"], dtype=float)
    bw_vals = np.array(sp["io_bandwidth_gbps"], dtype=float)
    rf_list = rf_vals * 1024
    glb_list = lm_vals * 2**20
    bw_list = bw_vals * 1e9 / base.clock_hz
    pes = (frame["pes_x"] * frame["pes_y"]).to_numpy()
    computes = np.unique(np.stack([pes, frame["compute_lanes"].to_numpy(), frame["simd_units"].to_numpy()], 1), axis=0)
    cmp_index = {tuple(c): i for i, c in enumerate(computes.tolist())}
    ci = np.array([cmp_index[(a, b, c)] for a, b, c in zip(pes, frame["compute_lanes"], frame["simd_units"])])
    ri = np.searchsorted(rf_vals, frame["register_file_kb"].to_numpy())
    gi = np.searchsorted(lm_vals, frame["local_memory_mb"].to_numpy())
    bi = np.searchsorted(bw_vals, frame["io_bandwidth_gbps"].to_numpy())

    uniq = graph.unique_layers()
    mac_layers, mac_counts, stream_layers, stream_counts = [], [], [], []
    for layer, count in uniq.values():
        if layer.op in ("conv2d", "linear"):
            mac_layers.append(layer)
            mac_counts.append(count)
        elif layer.op in ("avgpool", "maxpool", "global_avgpool", "add", "scale"):
            stream_layers.append(layer)
            stream_counts.append(count)

    cycles = np.zeros(n)
    energy = np.zeros(n)
    reason = np.full(n, "", dtype=object)
    # a lane's register file must hold one partial sum per SIMD unit (the same check as `configure`)
    psum_room = frame["register_file_kb"].to_numpy() * 1024 * base.rf_psum_fraction
    psum_need = frame["simd_units"].to_numpy() * pb
    small_rf = psum_room < psum_need
    reason[small_rf] = [f"register file holds {room:.0f} B of partial sums, {need - room:.0f} B short of one "
                        f"{base.accumulator_bits}-bit sum per SIMD unit ({need:.0f} B)"
                        for room, need in zip(psum_room[small_rf], psum_need[small_rf])]
    if mac_layers:
        vecs = np.stack([gm.layer_vector(l) for l in mac_layers])
        res = gk.search_grid(vecs, computes.astype(np.int64), base.simd_width, wb, pb, rf_list,
                             base.rf_psum_fraction, 0, glb_list, bw_list, base.e_mac, base.e_rf, base.e_glb,
                             base.e_dram, mapspace == "pow2", gm._OBJ_CODE[objective],
                             base.layer_boundaries == "overlapped")
        lat = res[:, ci, ri, gi, bi, gk.F_LAT]          # [layers, rows]
        ene = res[:, ci, ri, gi, bi, gk.F_ENE]
        counts = np.array(mac_counts, dtype=float)[:, None]
        fits = np.isfinite(lat)
        cycles += np.where(fits, lat, 0.0).T @ counts[:, 0]
        energy += np.where(fits, ene, 0.0).T @ counts[:, 0]
        lm_rows = frame["local_memory_mb"].to_numpy() * 2**20
        for li in np.flatnonzero(~fits.all(axis=1)):
            bad = ~fits[li]
            # the smallest tile (1 x 1 x 1 x 1) needs the same bytes under every PE split
            need = gk.buffer_need(vecs[li], 1, 1, 1, 1, 1, 1, wb, pb)
            reason[bad] = [r or _no_fit(mac_layers[li].name, need, cap) for r, cap in zip(reason[bad], lm_rows[bad])]
    units = (pes * frame["compute_lanes"] * frame["simd_units"]).to_numpy().astype(float)
    lm_bytes = frame["local_memory_mb"].to_numpy() * 2**20
    bpc = frame["io_bandwidth_gbps"].to_numpy() * 1e9 / base.clock_hz
    for layer, count in zip(stream_layers, stream_counts):
        c, _, _, e = gm.stream_metrics(float(layer.window_ops), float(layer.input_elements),
                                       float(layer.output_elements), units, bpc, wb, base.e_mac, base.e_rf,
                                       base.e_glb, base.e_dram)
        cycles += count * c
        energy += count * sum(e.values())
        need = gm.stream_need(layer, wb)
        bad = need > lm_bytes
        reason[bad] = [r or _no_fit(layer.name, need, cap) for r, cap in zip(reason[bad], lm_bytes[bad])]
    feasible = reason == ""
    frame["latency_ms"] = np.where(feasible, cycles / base.clock_hz * 1e3, np.nan)
    frame["energy_mj"] = np.where(feasible, energy * 1e3, np.nan)
    frame["area_mm2"] = base.area.area_mm2(pes_x=frame["pes_x"].to_numpy(), pes_y=frame["pes_y"].to_numpy(),
                                           compute_lanes=frame["compute_lanes"].to_numpy(),
                                           simd_units=frame["simd_units"].to_numpy(), simd_width=base.simd_width,
                                           register_file_kb=frame["register_file_kb"].to_numpy(),
                                           local_memory_mb=frame["local_memory_mb"].to_numpy(),
                                           io_bandwidth_gbps=frame["io_bandwidth_gbps"].to_numpy())
    frame["peak_tops"] = 2.0 * units * base.simd_width * base.clock_hz / 1e12
    valid = feasible.copy()
    if area_budget is not None:
        over = frame["area_mm2"].to_numpy() > area_budget
        msg = [f"area {a:.2f} mm^2 exceeds the budget {area_budget:g} by {a - area_budget:.2f} mm^2"
               for a in frame["area_mm2"].to_numpy()[over & valid]]
        reason[over & valid] = msg
        valid &= ~over
    if latency_target is not None:
        lat_ms = frame["latency_ms"].to_numpy()
        late = valid & (lat_ms > latency_target)
        reason[late] = [f"latency {x:.4f} ms misses the target {latency_target:g} ms by {x - latency_target:.4f} ms"
                        for x in lat_ms[late]]
        valid &= ~late
    frame["valid"] = valid
    frame["reason"] = reason
    frame["pareto"] = pareto_mask(frame["latency_ms"].to_numpy(), frame["area_mm2"].to_numpy(), valid)
    if not valid.any():
        raise ValueError(_nobody_meets(frame, feasible, area_budget, latency_target, graph.name))
    frame.attrs.update(network=graph.name, objective=objective, mapspace=mapspace, arch=spec.name)
    return frame


def _no_fit(name, need, cap) -> str:
    return (f"layer {name!r} does not fit the local memory: its smallest tile needs {need:.0f} B per PE, "
            f"{need - cap:.0f} B more than {cap:.0f} B")


def _nobody_meets(frame, feasible, area_budget, latency_target, name) -> str:
    if not feasible.any():
        first = next(r for r in frame["reason"] if r)
        return f"no accelerator of the space can run {name!r}: e.g. {first}"
    area = frame["area_mm2"].to_numpy()
    lat = frame["latency_ms"].to_numpy()
    parts = []
    if area_budget is not None:
        amin = area[feasible].min()
        if amin > area_budget:
            parts.append(f"the smallest accelerator has {amin:.2f} mm^2, over the area budget {area_budget:g} mm^2 "
                         f"by {amin - area_budget:.2f} mm^2")
    within = feasible & (area <= area_budget if area_budget is not None else True)
    if latency_target is not None and within.any():
        lbest = lat[within].min()
        parts.append(f"the fastest accelerator{' within the area budget' if area_budget is not None else ''} takes "
                     f"{lbest:.4f} ms, over the latency target {latency_target:g} ms by {lbest - latency_target:.4f} ms")
    return f"no accelerator meets the constraints for {name!r}: " + "; ".join(parts)


# ---- joint search ----------------------------------------------------------------------------------

NETWORK_SPACES = ("nb201", "fbnet")


def sample_networks(space: str, n: int, seed: int = 0, dataset: str | None = None, batch: int = 1) -> dict:
    """`n` distinct networks drawn uniformly from a NAS search space, as {name: LayerGraph} for `joint`:
    ``"nb201"`` (the 15,625 NAS-Bench-201 cells; `dataset` default cifar10) or ``"fbnet"`` (22 positions x 9
    blocks of HW-NAS-Bench's FBNet space; `dataset` default cifar100). Names are ``nb201:<arch>`` /
    ``fbnet:<22 ints>``, so `accelmodel.workloads.get` rebuilds each one."""
    import importlib

    fbnet_mod = importlib.import_module("accelmodel.workloads.fbnet")
    from .workloads import nasbench201_arch_strings

    if space not in NETWORK_SPACES:
        raise ValueError(f"network space {space!r} is not one of {list(NETWORK_SPACES)}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    rng = np.random.default_rng(seed)
    if space == "nb201":
        archs = nasbench201_arch_strings()
        if n > len(archs):
            raise ValueError(f"n={n} exceeds the {len(archs)} networks of NAS-Bench-201 by {n - len(archs)}")
        names = [f"nb201:{archs[i]}" for i in rng.choice(len(archs), size=n, replace=False)]
    else:
        seen: dict[str, None] = {}
        while len(seen) < n:
            ops = rng.integers(0, len(fbnet_mod.BLOCKS), size=fbnet_mod.NUM_POSITIONS)
            seen.setdefault("fbnet:" + ",".join(str(int(i)) for i in ops), None)
        names = list(seen)
    return {name: get_network(name, batch=batch, dataset=dataset) for name in names}


REWARDS = {"hard": (0.0, -1.0), "soft": (-0.071, -0.071)}


def nahas_reward(accuracy, latency, area, latency_target, area_target, reward="soft"):
    """NAHAS Sec. 3.4: accuracy x (latency/T_lat)^w0 x (area/T_area)^w1, w = p where the constraint holds,
    q otherwise; ``hard`` is p=0, q=-1, ``soft`` is p=q=-0.071; or give (p, q). Works on arrays."""
    p, q = _reward_weights(reward)
    lat_ratio = np.asarray(latency, dtype=float) / latency_target
    area_ratio = np.asarray(area, dtype=float) / area_target
    w0 = np.where(lat_ratio <= 1.0, p, q)
    w1 = np.where(area_ratio <= 1.0, p, q)
    return np.asarray(accuracy, dtype=float) * lat_ratio ** w0 * area_ratio ** w1


def _reward_weights(reward):
    if isinstance(reward, str):
        if reward not in REWARDS:
            raise ValueError(f"reward {reward!r} is not one of {list(REWARDS)} or a (p, q) pair")
        return REWARDS[reward]
    try:
        p, q = (float(x) for x in reward)
    except (TypeError, ValueError):
        raise ValueError(f"reward must be 'hard', 'soft' or a (p, q) pair of numbers, got {reward!r}") from None
    return p, q


@dataclass
class JointResult:
    #: the best (network, accelerator) pairs by reward, best first
    best: pd.DataFrame
    #: pairs on the accuracy / latency / area Pareto front (accuracy maximised, the others minimised)
    frontier: pd.DataFrame
    #: every feasible pair with its reward
    pairs: pd.DataFrame
    latency_target_ms: float
    area_target_mm2: float
    reward: tuple


def _pareto_front_3(acc, lat, area) -> np.ndarray:
    keep = np.ones(len(acc), dtype=bool)
    for i in range(len(acc)):
        dom = (acc >= acc[i]) & (lat <= lat[i]) & (area <= area[i]) & (
            (acc > acc[i]) | (lat < lat[i]) | (area < area[i]))
        if dom.any():
            keep[i] = False
    return keep


def joint(networks, accuracy: "Mapping[str, float] | Callable", latency_target: float,
          area_target: float | None = None, reward="soft", space="nahas", top: int = 10,
          objective: str = "latency", mapspace: str = "pow2", arch: str = "nahas-edge", batch: int = 1,
          dataset: str | None = None) -> JointResult:
    """Joint search over (network, accelerator) pairs with NAHAS's reward.

    `networks`: names for `accelmodel.workloads.get` (``nb201:<arch>``, ``fbnet:<blocks>``, ...), LayerGraphs,
    or a dict name -> LayerGraph. `accuracy`: a dict name -> accuracy or a callable (name, graph) -> accuracy;
    none is shipped. `latency_target` in ms; `area_target` in mm^2 defaults to the baseline accelerator's area
    (NAHAS Sec. 3.4). Every network is swept over the whole space (`accelerators`), then each feasible pair
    gets its reward. Returns the `top` best pairs, the accuracy-latency-area frontier and all pairs.
    """
    if isinstance(networks, (str, LayerGraph)):
        networks = [networks]
    if isinstance(networks, Mapping):
        items = list(networks.items())
    else:
        items = []
        for net in networks:
            g = _graph(net, batch, dataset)
            items.append((net if isinstance(net, str) else g.name, g))
    if not items:
        raise ValueError("joint() needs at least one network")
    if not (isinstance(latency_target, (int, float)) and latency_target > 0):
        raise ValueError(f"latency_target must be a positive number of ms, got {latency_target!r}")
    pq = _reward_weights(reward)
    base = gm.configure(load_spec(arch))
    if area_target is None:
        area_target = base.area_mm2
    if not (isinstance(area_target, (int, float)) and area_target > 0):
        raise ValueError(f"area_target must be a positive number of mm^2, got {area_target!r}")
    frames = []
    for name, graph in items:
        graph = _graph(graph, batch, dataset)
        if callable(accuracy):
            acc = accuracy(name, graph)
        else:
            if name not in accuracy:
                raise KeyError(f"no accuracy given for network {name!r}")
            acc = accuracy[name]
        if isinstance(acc, bool) or not isinstance(acc, (int, float, np.floating)) or not math.isfinite(acc) or acc < 0:
            raise ValueError(f"accuracy of {name!r} must be a finite number >= 0, got {acc!r}")
        try:
            f = accelerators(graph, space=space, objective=objective, mapspace=mapspace, arch=arch)
        except ValueError as err:
            raise ValueError(f"network {name!r}: {err}") from None
        f = f[f["valid"]].copy()
        f.insert(0, "network", name)
        f.insert(1, "accuracy", float(acc))
        f["reward"] = nahas_reward(f["accuracy"], f["latency_ms"], f["area_mm2"], latency_target, area_target, pq)
        f["meets_latency"] = f["latency_ms"] <= latency_target
        f["meets_area"] = f["area_mm2"] <= area_target
        frames.append(f)
    pairs = pd.concat(frames, ignore_index=True).drop(columns=["valid", "reason"])
    best = pairs.sort_values(["reward", "latency_ms", "area_mm2"], ascending=[False, True, True]).head(top)
    cand = pairs[pairs["pareto"]]
    front = _pareto_front_3(cand["accuracy"].to_numpy(), cand["latency_ms"].to_numpy(), cand["area_mm2"].to_numpy())
    frontier = cand[front].sort_values(["latency_ms", "area_mm2"]).reset_index(drop=True)
    return JointResult(best.reset_index(drop=True), frontier, pairs, float(latency_target), float(area_target), pq)
