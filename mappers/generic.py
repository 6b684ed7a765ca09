"""Generic paradigm: one reusable compute engine that runs every layer in turn (E2E-Perf's generic paradigm,
the NAHAS edge accelerator). Layer-additive: a network's cost is the sum of its layers' costs.

Hardware abstraction
--------------------
``PEs (pes_x x pes_y) -> compute lanes per PE -> SIMD units per lane x simd_width ways``, one MAC per way
per cycle, so the peak is ``pes x lanes x simd_units x simd_width`` MACs per cycle. Memory levels:

- ``dram``: external memory, ``io_bandwidth_gbps`` GB/s shared by the chip. Every layer reads its inputs
  and weights from DRAM and writes its outputs to DRAM (layer-by-layer execution).
- ``glb``: the local memory of each PE (NAHAS: 2 MB per PE; E2E-Perf: the whole on-chip budget, one PE),
  shared by the PE's lanes. It holds double-buffered DRAM tiles of weights, inputs and partial sums.
- ``rf``: the register file of each lane. A fraction ``rf_psum_fraction`` holds the 32-bit partial sums of
  an output block of ``simd_units`` channels x ``rq`` pixels, so a weight fetched from local memory is used
  ``rq`` times (FPGA engines: ``accumulator_pixels`` = 1).
- ``mac``: the SIMD MACs.

An E2E-Perf budget spec (``budget: {dsp, on_chip_mbit}``) is the same engine with one PE and one lane:
``simd_units = floor(dsp / dsp_per_mac / simd_width)`` output channels x ``simd_width`` reduction ways.

Mapping (what `evaluate_mapping` takes)
---------------------------------------
A dict::

    {"order": "weight_stationary" | "output_stationary" | "input_stationary",
     "tile": {"K": tk, "C": tc, "P": tp, "Q": tq},   # DRAM -> local-memory tile of the whole chip
     "pe_split": {"K": pk, "P": pp},                  # PEs along output channels x along output rows
     "lane_split": "K" | "P"}                         # lanes of a PE take channels or pixels

``C`` is per group (grouped/depthwise conv); ``K`` counts all output channels. Batch is an outermost loop
(conv) or folded into ``Q`` (FC, so weights are reused across the batch). A tile step computes
``tk x tc x tp x tq`` outputs-times-inputs; PE i gets ceil(tk/pk) channels and ceil(tp/pp) rows of it; each lane
processes its share with its SIMD units over output channels and the ``simd_width`` ways over the flattened
reduction (c, r, s) -- so depthwise layers use one way per kernel tap instead of idling.

Loop orders (tile loops, outer -> inner; batch always outermost): weight-stationary ``k, c, pq`` (weights
fetched once; inputs once per k tile; partial sums spilled to DRAM once per extra c tile),
output-stationary ``k, pq, c`` (outputs written once; weights refetched per pixel tile; inputs per k tile),
input-stationary ``c, pq, k`` (inputs fetched once; weights per pixel tile; partial sums spilled). With p and q
adjacent, other permutations are equivalent to one of these three in traffic and in the per-step transfer
classes (an order's cost depends only on which operands change when each loop advances; swapping loops that
are relevant to the same operands changes neither), and putting k or c between p and q can only shorten
the weights' reuse run, so they are not searched.

Latency: a double-buffered pipeline of tile steps. Prologue (first weight+input tile load), then at each step
transition ``max(compute of one step, bytes moved at that transition / bandwidth)``, then the last step's
compute and the final output drain. The bytes of a transition are those of the operands that change there
(an operand changes whenever a loop at or outside its innermost relevant loop advances), averaged over the
operand's tiles. Compute per step is the exact total ``sum over tiles of ceil(tk_i/(pk*lk*simd)) x
ceil(tc_j*R*S/width) x ceil(ceil(tp_l/pp)*tq_m/lp)`` divided by the number of steps, so edge tiles and idle
units are counted. Latency >= MACs / peak by construction.

Capacity: one PE's local memory must hold ``2 x (weights + inputs)`` at word width plus ``2 x outputs`` at
accumulator width of its share of a tile (double buffering). A layer whose smallest tile does not fit is an
error, never a zero cost. Inputs broadcast to the PEs of a K split are read once from DRAM (NoC multicast).

Access-counting conventions (``LayerCost.accesses`` in words, energy from bytes x the spec's pJ/byte):

- ``mac``: the layer's MACs (idle units cost nothing: clock gating).
- ``rf``: per MAC one weight read; an input read per pass of up to ``min(simd_units, K/groups)`` SIMD units over
  the channels a lane holds in the step (the input is broadcast to the pass's units, so a K tile narrower than
  the units shares it among fewer); a 32-bit partial-sum read + write per ``min(width, C/G*R*S)`` MACs.
- ``glb`` reads: weights to the lanes once per ``rq`` output pixels, inputs to the lanes once per
  lane pass as above, partial sums read back for accumulation ``(nC - 1)`` times per output,
  and every byte drained to DRAM. ``glb`` writes: every byte filled from DRAM (weights replicated into the
  ``pp`` PEs of a row split, inputs into the ``pk`` PEs of a channel split), and a partial sum per output per
  input-channel tile (nC times).
- ``dram``: weight and input tile fetches, final outputs once, and 32-bit partial sums written and read back
  once per extra input-channel tile visit when the order is not output-stationary.

Pooling, global pooling, element-wise add and channel-wise scale (squeeze-and-excitation) run on the SIMD units
as a stream (one op per SIMD unit per cycle; inputs and outputs through DRAM once); identity, zero and concat
layers move nothing and cost nothing (a concat is a layout: its producers write their channels at offsets of one
DRAM buffer).

A dilated convolution has the MACs and weights of its undilated kernel; its tiles fetch the contiguous input
span of their windows (``dilation x (R - 1) + 1`` rows per output row, the DMA fetches whole spans, including rows
a window skips).

Search and safe pruning
-----------------------
The mapping space is every PE split ``pk x pp <= pes``, both lane splits, every tile size ``1..D`` of each
dimension whose trip count ``ceil(D/t)`` the mapspace allows (``exhaustive``: all; ``pow2``: 1, 2, 4, ... and D,
used by the 50,000-point accelerator sweep) and the three orders. The search visits a subset and returns an
optimum of the whole space (the objective value is exact; ``tests/test_generic.py`` checks it against a
pure-Python enumeration of every mapping). Each reduction keeps, for every dropped mapping, one at least as good:

1. Dominance within a trip count (`generic_kernels.channel_candidates`, `pixel_candidates`). For fixed other
   choices the cost depends on a dimension's tile t only through its trip count n (traffic, steps, order
   classes), its buffer need (grows with t), its compute sum (``(n-1) x ceil(t/u) + ceil(last/u)``, pixels
   coupled with the other pixel dimension through ``ceil(rows_per_PE x cols / lp)``), the input halo
   (rows/columns of input read, summed over tiles), the channel groups touched (grouped conv) and, for energy
   objectives, the pixels per lane that set register-file reuse and the output channels' lane passes that set
   the input operand reads. A tile is dropped when a smaller tile of the
   same n is no worse in each of those for every value of the other pixel dimension; that smaller tile then
   gives no more latency, energy or buffer need under every objective and every cell of a memory/bandwidth grid.
   Note that the smallest tile of a trip count is *not* always best: e.g. D=10 in 2 tiles on 4-wide units costs
   4 steps as 5+5 but 3 as 6+4, so such tiles are kept.
2. PE splits, latency objective only: ``(pes // pp, pes // (pes // pp))`` is elementwise >= ``(pk, pp)``, and
   more PEs on a dimension never add compute, per-PE buffer or DRAM traffic. For energy and EDP every split is
   searched, because PE copies of weights and inputs add local-memory writes.
3. Buffer capacity: candidates are ascending and the need grows with each tile size, so a loop is left once
   the need with the smallest remaining inner tiles exceeds the (largest) local memory.
4. Branch and bound, every objective: latency >= total compute cycles (every step costs at least its compute)
   and >= (weights + inputs + outputs moved) / bandwidth (every byte crosses the DRAM interface once per fetch);
   energy >= the energy every mapping of the subtree pays (MACs, register file, lane reads at the largest
   register-file reuse of the grid, input operand reads for the chosen output-channel tiling, partial-sum
   writes for the chosen input-channel tiling, each weight and
   input fetched and copied into the PEs at least once, outputs written once). Bounds from the chosen outer
   tiles (inputs at least the smallest halo of the remaining candidates; each bandwidth of the grid) cut a
   subtree only when, at the smallest local memory the subtree needs, its objective bound exceeds the worst
   current record of every bandwidth cell, or ties it while its latency bound exceeds that record's latency
   (the tie-break), both beyond a 1e-9 rounding slack. (With 2, a latency tie may resolve to a different
   mapping than a full enumeration's energy tie-break would pick.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from accelmodel.cost import LayerCost
from accelmodel.specs import ArchSpec, SpecError

from . import check_objective
from . import generic_kernels as gk

PARADIGM = "generic"

#: user-facing parameter name -> spec path, per kind of spec
PE_ARRAY_PARAMS = {
    "pes_x": "pe_array.pes_x",
    "pes_y": "pe_array.pes_y",
    "compute_lanes": "pe_array.compute_lanes",
    "simd_units": "pe_array.simd_units",
    "simd_width": "pe_array.simd_width",
    "register_file_kb": "memory.register_file_kb",
    "local_memory_mb": "memory.local_memory_mb",
    "io_bandwidth_gbps": "memory.io_bandwidth_gbps",
    "clock_ghz": "clock_ghz",
    "mapspace": "mapper.mapspace",
}
BUDGET_PARAMS = {
    "dsp": "budget.dsp",
    "on_chip_mbit": "budget.on_chip_mbit",
    "simd_width": "engine.simd_width",
    "io_bandwidth_gbps": "memory.io_bandwidth_gbps",
    "clock_ghz": "clock_ghz",
    "mapspace": "mapper.mapspace",
}
#: the NAHAS search-space parameters, in the order of its Table 1
NAHAS_PARAMS = ("pes_x", "pes_y", "simd_units", "register_file_kb", "local_memory_mb", "compute_lanes",
                "io_bandwidth_gbps")
MAPSPACES = ("exhaustive", "pow2")
#: Largest pes_x and pes_y (the PE-split search grows with the PE count).
MAX_PES_PER_SIDE = 64
#: Largest peak MACs per cycle (the NAHAS baseline has 16,384; the kernels multiply it in int64).
MAX_MACS_PER_CYCLE = 1 << 40
#: ``serial``: a layer's first tile load and its last output drain are on the critical path (layers run
#: back to back, E2E-Perf's per-layer data-access overheads, ZigZag's onloading/offloading);
#: ``overlapped``: the engine prefetches the next layer's first tiles and drains the last outputs while
#: its neighbours compute, so a layer costs its steady state, at least its DRAM bytes over the bandwidth
#: (Timeloop/AccelForge's convention: latency = max over components).
LAYER_BOUNDARIES = ("serial", "overlapped")


@dataclass(frozen=True)
class AreaModel:
    """mm^2 per unit of each resource at one technology node (figures and sources in the spec)."""

    technology_nm: float
    sram_mm2_per_mb: float
    rf_mm2_per_kb: float
    mac_mm2: float
    pe_overhead_mm2: float
    lane_overhead_mm2: float
    io_mm2_per_gbps: float

    def breakdown(self, pes_x, pes_y, compute_lanes, simd_units, simd_width, register_file_kb, local_memory_mb,
                  io_bandwidth_gbps) -> dict:
        """Area (mm^2) per component; arguments may be numpy arrays (the search sweeps them)."""
        pes = np.asarray(pes_x) * np.asarray(pes_y)
        lanes = pes * np.asarray(compute_lanes)
        return {
            "local_memory": pes * np.asarray(local_memory_mb) * self.sram_mm2_per_mb,
            "register_file": lanes * np.asarray(register_file_kb) * self.rf_mm2_per_kb,
            "macs": lanes * np.asarray(simd_units) * np.asarray(simd_width) * self.mac_mm2,
            "pe_overhead": pes * self.pe_overhead_mm2,
            "lane_overhead": lanes * self.lane_overhead_mm2,
            "io": np.asarray(io_bandwidth_gbps) * self.io_mm2_per_gbps,
        }

    def area_mm2(self, **params):
        return sum(self.breakdown(**params).values())


@dataclass(frozen=True)
class GenericConfig:
    name: str
    kind: str                      # "pe_array" (explicit engine) or "budget" (E2E-Perf DSP/on-chip budget)
    clock_hz: float
    word_bits: int
    accumulator_bits: int
    pes_x: int
    pes_y: int
    lanes: int
    simd_units: int
    simd_width: int
    local_memory_bytes: float      # per PE
    register_file_bytes: float     # per lane (0 for budget specs)
    rf_psum_fraction: float
    accumulator_pixels: int        # > 0: fixed rq (budget specs); 0: derived from the register file
    io_bandwidth_gbps: float       # GB/s
    e_mac: float                   # J per MAC
    e_rf: float                    # J per byte
    e_glb: float
    e_dram: float
    mapspace: str
    default_objective: str
    layer_boundaries: str          # LAYER_BOUNDARIES: whether a layer's first load and last drain are exposed
    params: tuple = ()             # user-facing parameters (name, value), for reports and search
    area: AreaModel | None = field(default=None, compare=False)
    key: tuple = ()

    @property
    def pes(self) -> int:
        return self.pes_x * self.pes_y

    @property
    def peak_macs_per_cycle(self) -> int:
        return self.pes * self.lanes * self.simd_units * self.simd_width

    @property
    def peak_tops(self) -> float:
        """Peak in tera-operations per second, counting a MAC as two operations."""
        return 2.0 * self.peak_macs_per_cycle * self.clock_hz / 1e12

    @property
    def word_bytes(self) -> float:
        return self.word_bits / 8.0

    @property
    def psum_bytes(self) -> float:
        return self.accumulator_bits / 8.0

    @property
    def bytes_per_cycle(self) -> float:
        return self.io_bandwidth_gbps * 1e9 / self.clock_hz

    @property
    def area_mm2(self) -> float | None:
        if self.area is None:
            return None
        return float(self.area.area_mm2(**self.area_params()))

    def area_params(self) -> dict:
        return dict(pes_x=self.pes_x, pes_y=self.pes_y, compute_lanes=self.lanes, simd_units=self.simd_units,
                    simd_width=self.simd_width, register_file_kb=self.register_file_bytes / 1024,
                    local_memory_mb=self.local_memory_bytes / 2**20, io_bandwidth_gbps=self.io_bandwidth_gbps)


# ---- configure -----------------------------------------------------------------------------------

def _dotted_overrides(spec: ArchSpec, overrides: dict | None, names: dict) -> dict:
    if not overrides:
        return {}
    if not isinstance(overrides, dict):
        raise SpecError(f"spec {spec.name!r}: overrides must be a dict of parameter -> value, got {type(overrides).__name__}")
    out = {}
    dotted = set(names.values())
    for key, value in overrides.items():
        if isinstance(value, np.integer):
            value = int(value)
        elif isinstance(value, np.floating):
            value = float(value)
        if key in names:
            out[names[key]] = value
        elif key in dotted or "." in key:
            out[key] = value
        else:
            raise SpecError(f"spec {spec.name!r}: unknown parameter {key!r}; allowed: {sorted(names)} "
                            f"(or a dotted spec path)")
    return out


def read_area_model(spec: ArchSpec) -> AreaModel | None:
    if "area_model" not in spec.data:
        return None
    g = lambda f: spec.get(f"area_model.{f}", float, min=0.0)
    return AreaModel(spec.get("area_model.technology_nm", float, min=0.0, exclusive_min=True),
                     g("sram_mm2_per_mb"), g("rf_mm2_per_kb"), g("mac_mm2"), g("pe_overhead_mm2"),
                     g("lane_overhead_mm2"), g("io_mm2_per_gbps"))


def configure(spec: ArchSpec, overrides: dict | None = None) -> GenericConfig:
    """A validated config from a generic spec. `overrides` take short names (``pes_x``, ``local_memory_mb``,
    ``dsp``, ``on_chip_mbit``, ``io_bandwidth_gbps``, ``mapspace`` ...) or dotted spec paths."""
    if spec.paradigm != PARADIGM:
        raise SpecError(f"spec {spec.name!r} has paradigm {spec.paradigm!r}, not {PARADIGM!r}")
    kind = "budget" if "budget" in spec.data else "pe_array"
    names = BUDGET_PARAMS if kind == "budget" else PE_ARRAY_PARAMS
    spec = spec.with_overrides(_dotted_overrides(spec, overrides, names))
    # bounded far beyond any silicon so that bytes per cycle (bandwidth / clock) stays a normal positive number
    clock_hz = spec.get("clock_ghz", float, min=0.0, max=1e3, exclusive_min=True) * 1e9
    word_bits = spec.get("word_bits", int, choices=(4, 8, 16, 32))
    acc_bits = spec.get("accumulator_bits", int, choices=(16, 24, 32, 48, 64))
    bw = spec.get("memory.io_bandwidth_gbps", float, min=1e-6, max=1e9)
    if kind == "budget":
        dsp = spec.get("budget.dsp", int, min=1)
        mbit = spec.get("budget.on_chip_mbit", float, min=0.0, exclusive_min=True)
        dsp_per_mac = spec.get("engine.dsp_per_mac", float, min=0.0, exclusive_min=True)
        width = spec.get("engine.simd_width", int, min=1)
        columns = dsp / dsp_per_mac / width
        if not columns * width <= MAX_MACS_PER_CYCLE:  # also inf from a tiny dsp_per_mac
            raise SpecError(f"spec {spec.name!r}: budget.dsp={dsp} / engine.dsp_per_mac={dsp_per_mac:g} gives "
                            f"{dsp / dsp_per_mac:.4g} MACs per cycle, above {MAX_MACS_PER_CYCLE:,} (2^40)")
        simd = int(math.floor(columns))
        if simd < 1:
            raise SpecError(f"spec {spec.name!r}: budget.dsp={dsp} with engine.dsp_per_mac={dsp_per_mac} gives fewer "
                            f"than one column of engine.simd_width={width} MACs; it needs >= {dsp_per_mac * width:g} DSPs")
        frac = spec.get("memory.on_chip_fraction", float, min=0.0, max=1.0, exclusive_min=True)
        pes_x = pes_y = lanes = 1
        glb = mbit * 2**20 / 8 * frac
        rf = 0.0
        rf_frac = 1.0
        acc_pixels = spec.get("engine.accumulator_pixels", int, min=1)
        params = (("dsp", dsp), ("on_chip_mbit", mbit), ("io_bandwidth_gbps", bw))
    else:
        # the search visits every PE split pk x pp <= pes (energy and EDP: all of them), so the array is bounded:
        # 64 x 64 takes ~1 min for ResNet-18 under the energy objective (NAHAS's space stops at 8 x 8)
        pes_x = spec.get("pe_array.pes_x", int, min=1, max=MAX_PES_PER_SIDE)
        pes_y = spec.get("pe_array.pes_y", int, min=1, max=MAX_PES_PER_SIDE)
        lanes = spec.get("pe_array.compute_lanes", int, min=1)
        simd = spec.get("pe_array.simd_units", int, min=1)
        width = spec.get("pe_array.simd_width", int, min=1)
        rf_kb = spec.get("memory.register_file_kb", float, min=0.0, exclusive_min=True)
        lm_mb = spec.get("memory.local_memory_mb", float, min=0.0, exclusive_min=True)
        rf_frac = spec.get("memory.rf_psum_fraction", float, min=0.0, max=1.0, exclusive_min=True)
        glb = lm_mb * 2**20
        rf = rf_kb * 1024
        acc_pixels = 0
        if rf * rf_frac < simd * acc_bits / 8:
            raise SpecError(f"spec {spec.name!r}: memory.register_file_kb={rf_kb:g} x memory.rf_psum_fraction={rf_frac:g} "
                            f"holds {rf * rf_frac:g} B of partial "
                            f"sums, less than one {acc_bits}-bit sum for each of pe_array.simd_units={simd} ({simd * acc_bits // 8} B); "
                            f"it must be >= {simd * acc_bits / 8 / rf_frac / 1024:g} KB")
        params = (("pes_x", pes_x), ("pes_y", pes_y), ("simd_units", simd), ("register_file_kb", rf_kb),
                  ("local_memory_mb", lm_mb), ("compute_lanes", lanes), ("io_bandwidth_gbps", bw))
    peak = pes_x * pes_y * lanes * simd * width
    if peak > MAX_MACS_PER_CYCLE:
        raise SpecError(f"spec {spec.name!r}: {float(peak):.4g} MACs per cycle (PEs x compute_lanes x simd_units x simd_width"
                        f"{', from budget.dsp / engine.dsp_per_mac' if kind == 'budget' else ''}) exceed "
                        f"{MAX_MACS_PER_CYCLE:,} (2^40), beyond the kernels' integer counts")
    e = lambda f: spec.get(f"energy_pj.{f}", float, min=0.0) * 1e-12
    mapspace = spec.get("mapper.mapspace", str, choices=MAPSPACES, default="exhaustive")
    objective = check_objective(spec.get("mapper.objective", str, default="latency"))
    boundaries = spec.get("options.layer_boundaries", str, choices=LAYER_BOUNDARIES, default="serial")
    area = read_area_model(spec) if kind == "pe_array" else None
    fields = dict(name=spec.name, kind=kind, clock_hz=clock_hz, word_bits=word_bits, accumulator_bits=acc_bits,
                  pes_x=pes_x, pes_y=pes_y, lanes=lanes, simd_units=simd, simd_width=width,
                  local_memory_bytes=float(glb), register_file_bytes=float(rf), rf_psum_fraction=rf_frac,
                  accumulator_pixels=acc_pixels, io_bandwidth_gbps=bw, e_mac=e("mac"), e_rf=e("rf_per_byte"),
                  e_glb=e("glb_per_byte"), e_dram=e("dram_per_byte"), mapspace=mapspace,
                  default_objective=objective, layer_boundaries=boundaries)
    spec.refuse_unread("the generic mapper")
    key = ("generic",) + tuple(fields.values())
    return GenericConfig(**fields, params=params, area=area, key=key)


# ---- layers --------------------------------------------------------------------------------------

def layer_vector(layer) -> np.ndarray | None:
    """The kernel's float vector for a MAC layer (conv2d, linear); None for layers without MACs."""
    if layer.op == "conv2d":
        g = layer.groups
        v = [layer.N, layer.K, layer.C // g, layer.P, layer.Q, layer.R, layer.S, layer.stride[0], layer.stride[1],
             layer.padding[0], layer.padding[1], layer.H, layer.W, g, layer.K // g, *layer.extent]
    elif layer.op == "linear":
        # batch folded into the pixel dimension Q so the weights are reused across the batch
        v = [1, layer.K, layer.C, 1, layer.N, 1, 1, 1, 1, 0, 0, 1, layer.N, 1, layer.K, 1, 1]
    else:
        return None
    return np.asarray(v, dtype=np.float64)


_OBJ_CODE = {"latency": gk.OBJ_LATENCY, "energy": gk.OBJ_ENERGY, "edp": gk.OBJ_EDP}


def _hw_args(config: GenericConfig):
    return (config.word_bytes, config.psum_bytes)


def search_records(vec: np.ndarray, config: GenericConfig, objective: str) -> np.ndarray:
    """The best mapping record (F_* fields) of a MAC layer vector under `config`."""
    rec = gk.search_layer(vec, config.pes, config.lanes, config.simd_units, config.simd_width, config.word_bytes,
                          config.psum_bytes, np.array([config.register_file_bytes]), config.rf_psum_fraction,
                          config.accumulator_pixels, np.array([config.local_memory_bytes]),
                          np.array([config.bytes_per_cycle]), config.e_mac, config.e_rf, config.e_glb,
                          config.e_dram, config.mapspace == "pow2", _OBJ_CODE[objective],
                          config.layer_boundaries == "overlapped")
    return rec[0, 0, 0]


def _record_to_mapping(rec) -> dict:
    return {"order": gk.ORDER_NAMES[int(rec[gk.F_ORDER])],
            "tile": {"K": int(rec[gk.F_TK]), "C": int(rec[gk.F_TC]), "P": int(rec[gk.F_TP]), "Q": int(rec[gk.F_TQ])},
            "pe_split": {"K": int(rec[gk.F_PK]), "P": int(rec[gk.F_PP])},
            "lane_split": gk.LANE_SPLITS[int(rec[gk.F_LANE])]}


def _dims(layer, vec) -> dict:
    return {"K": int(vec[gk.L_K]), "C": int(vec[gk.L_CG]), "P": int(vec[gk.L_P]), "Q": int(vec[gk.L_Q])}


def _smallest_need(vec, config) -> float:
    return gk.buffer_need(vec, 1, 1, 1, 1, config.pes, 1, config.word_bytes, config.psum_bytes)


def best_mapping(layer, config: GenericConfig, objective: str | None = None) -> dict:
    """The mapping dict the mapper chooses for a MAC layer (see the module docstring for its format)."""
    objective = check_objective(config.default_objective if objective is None else objective)
    vec = layer_vector(layer)
    if vec is None:
        raise ValueError(f"layer {layer.name!r} ({layer.op}) has no MACs and no tiled mapping")
    rec = search_records(vec, config, objective)
    if not np.isfinite(rec[gk.F_OBJ]):
        raise _no_fit_error(layer, vec, config)
    return _record_to_mapping(rec)


def _no_fit_error(layer, vec, config) -> ValueError:
    need = _smallest_need(vec, config)
    return ValueError(
        f"layer {layer.name!r} does not fit {config.name!r}: its smallest double-buffered tile needs {need:.0f} B "
        f"of local memory per PE, the PE has {config.local_memory_bytes:.0f} B (short by {need - config.local_memory_bytes:.0f} B)")


def _check_mapping(layer, vec, config, mapping) -> tuple:
    if not isinstance(mapping, dict):
        raise ValueError(f"mapping must be a dict, got {type(mapping).__name__}")
    allowed = {"order", "tile", "pe_split", "lane_split"}
    unknown = set(mapping) - allowed
    if unknown or allowed - set(mapping):
        raise ValueError(f"mapping keys must be {sorted(allowed)}; got {sorted(mapping)}")
    if mapping["order"] not in gk.ORDER_NAMES:
        raise ValueError(f"mapping order {mapping['order']!r} is not one of {list(gk.ORDER_NAMES)}")
    dims = _dims(layer, vec)
    tile = mapping["tile"]
    if not isinstance(tile, dict) or set(tile) != set(dims):
        raise ValueError(f"mapping tile must give {sorted(dims)}, got {tile!r}")
    for d, size in dims.items():
        t = tile[d]
        if not isinstance(t, (int, np.integer)) or not 1 <= t <= size:
            raise ValueError(f"mapping tile {d}={t!r} for layer {layer.name!r}: it must be an int in 1..{size}")
    split = mapping["pe_split"]
    if not isinstance(split, dict) or set(split) != {"K", "P"}:
        raise ValueError(f"mapping pe_split must give K and P, got {split!r}")
    pk, pp = split["K"], split["P"]
    if not all(isinstance(x, (int, np.integer)) and x >= 1 for x in (pk, pp)) or pk * pp > config.pes:
        raise ValueError(f"mapping pe_split K={pk!r} x P={pp!r} must be positive ints with a product <= {config.pes} PEs")
    if mapping["lane_split"] not in gk.LANE_SPLITS:
        raise ValueError(f"mapping lane_split {mapping['lane_split']!r} is not one of {list(gk.LANE_SPLITS)}")
    need = gk.buffer_need(vec, tile["K"], tile["C"], tile["P"], tile["Q"], pk, pp, config.word_bytes, config.psum_bytes)
    if need > config.local_memory_bytes:
        raise ValueError(f"mapping {mapping} of layer {layer.name!r} needs {need:.0f} B of local memory per PE; "
                         f"{config.name!r} has {config.local_memory_bytes:.0f} B (over by {need - config.local_memory_bytes:.0f} B)")
    return (tile["K"], tile["C"], tile["P"], tile["Q"], gk.ORDER_NAMES.index(mapping["order"]), pk, pp,
            gk.LANE_SPLITS.index(mapping["lane_split"]))


def _cost_from_metrics(layer, config, m, mapping: dict) -> LayerCost:
    cycles = float(m[gk.M_CYCLES])
    t = mapping["tile"]
    stall = float(m[gk.M_STALL])
    text = (f"{mapping['order']} | tile K{t['K']} C{t['C']} P{t['P']} Q{t['Q']} | PEs K{mapping['pe_split']['K']}"
            f"xP{mapping['pe_split']['P']} lanes/{mapping['lane_split']} | LM {m[gk.M_NEED] / 1024:.1f} KB/PE")
    extra = {"order": mapping["order"], "tile_k": t["K"], "tile_c": t["C"], "tile_p": t["P"], "tile_q": t["Q"],
             "pe_split_k": mapping["pe_split"]["K"], "pe_split_p": mapping["pe_split"]["P"],
             "lane_split": mapping["lane_split"], "local_memory_need_kb": float(m[gk.M_NEED]) / 1024,
             "tile_steps": float(m[gk.M_STEPS]), "compute_cycles": float(m[gk.M_COMPUTE]),
             "stall_fraction": stall / cycles if cycles > 0 else 0.0,
             "bottleneck": "dram" if stall > 0.5 * cycles else "compute", "rf_pixels": float(m[gk.M_RQ])}
    macs = layer.macs
    return LayerCost(
        macs=macs, cycles=cycles, latency_s=cycles / config.clock_hz,
        energy_j={"mac": float(m[gk.M_E_MAC]), "rf": float(m[gk.M_E_RF]), "glb": float(m[gk.M_E_GLB]),
                  "dram": float(m[gk.M_E_DRAM])},
        accesses={"mac": float(m[gk.M_MACS]), "rf": float(m[gk.M_RF_WORDS]), "glb": float(m[gk.M_GLB_WORDS]),
                  "dram": float(m[gk.M_DRAM_WORDS])},
        utilization=macs / (cycles * config.peak_macs_per_cycle) if cycles > 0 else 0.0,
        mapping=text, extra=extra)


def _metrics(vec, config, args) -> np.ndarray:
    tk, tc, tp, tq, order, pk, pp, lane = args
    return gk.mapping_metrics(vec, tk, tc, tp, tq, order, pk, pp, lane, config.pes, config.lanes, config.simd_units,
                              config.simd_width, config.word_bytes, config.psum_bytes, config.register_file_bytes,
                              config.rf_psum_fraction, config.accumulator_pixels, config.bytes_per_cycle,
                              config.e_mac, config.e_rf, config.e_glb, config.e_dram,
                              config.layer_boundaries == "overlapped")


def evaluate_mapping(layer, config: GenericConfig, mapping: dict) -> LayerCost:
    """The cost of one given mapping of a MAC layer (no search). Errors name what is illegal."""
    vec = layer_vector(layer)
    if vec is None:
        raise ValueError(f"layer {layer.name!r} ({layer.op}) has no MACs; evaluate_mapping takes conv2d/linear layers")
    args = _check_mapping(layer, vec, config, mapping)
    return _cost_from_metrics(layer, config, _metrics(vec, config, args), mapping)


def stream_metrics(ops, ins, outs, units, bytes_per_cycle, wb, e_mac, e_rf, e_glb, e_dram):
    """Pooling / add as a stream through the SIMD units (one op per unit per cycle), DRAM in and out once.
    Works on scalars and numpy arrays alike. Returns (cycles, compute, transfer, energies by level)."""
    compute = np.ceil(ops / units)
    dram_b = (ins + outs) * wb
    transfer = dram_b / bytes_per_cycle
    cycles = np.maximum(compute, transfer)
    glb_b = 2.0 * (ins + outs) * wb
    energy = {"mac": ops * e_mac, "rf": ops * wb * e_rf, "glb": glb_b * e_glb, "dram": dram_b * e_dram}
    return cycles, compute, transfer, energy


def stream_need(layer, wb) -> float:
    """Local memory per PE of a streamed layer: R input rows of one channel plane and one output row
    (pooling) or one row in and out (global pooling, add), double-buffered."""
    if layer.op in ("avgpool", "maxpool"):
        return 2.0 * (layer.R * layer.W + layer.Q) * wb
    return 2.0 * (layer.W + layer.Q) * wb


def _stream_cost(layer, config: GenericConfig) -> LayerCost:
    wb = config.word_bytes
    need = stream_need(layer, wb)
    if need > config.local_memory_bytes:
        raise ValueError(f"layer {layer.name!r} needs {need:.0f} B of local memory per PE for its line buffer; "
                         f"{config.name!r} has {config.local_memory_bytes:.0f} B (short by {need - config.local_memory_bytes:.0f} B)")
    ops, ins, outs = float(layer.window_ops), float(layer.input_elements), float(layer.output_elements)
    units = config.pes * config.lanes * config.simd_units
    cycles, compute, transfer, energy = stream_metrics(ops, ins, outs, units, config.bytes_per_cycle, wb,
                                                       config.e_mac, config.e_rf, config.e_glb, config.e_dram)
    cycles = float(cycles)
    return LayerCost(
        macs=0, cycles=cycles, latency_s=cycles / config.clock_hz,
        energy_j={k: float(v) for k, v in energy.items()},
        accesses={"mac": ops, "rf": ops, "glb": 2.0 * (ins + outs), "dram": ins + outs},
        utilization=0.0, mapping=f"stream on {units} SIMD units",
        extra={"bottleneck": "dram" if transfer > compute else "compute", "compute_cycles": float(compute)})


def _zero_cost(layer) -> LayerCost:
    zeros = {"mac": 0.0, "rf": 0.0, "glb": 0.0, "dram": 0.0}
    return LayerCost(macs=0, cycles=0.0, latency_s=0.0, energy_j=dict(zeros), accesses=dict(zeros),
                     utilization=0.0, mapping="none (no data movement)", extra={})


def map_layer(layer, config: GenericConfig, objective: str) -> LayerCost:
    """The cost of `layer` under its best mapping for `objective` (latency, energy or edp)."""
    objective = check_objective(objective)
    if layer.op in ("identity", "zero", "concat"):
        return _zero_cost(layer)
    if layer.op in ("avgpool", "maxpool", "global_avgpool", "add", "scale"):
        return _stream_cost(layer, config)
    vec = layer_vector(layer)
    rec = search_records(vec, config, objective)
    if not np.isfinite(rec[gk.F_OBJ]):
        raise _no_fit_error(layer, vec, config)
    mapping = _record_to_mapping(rec)
    return _cost_from_metrics(layer, config, _metrics(vec, config, _check_mapping(layer, vec, config, mapping)), mapping)
