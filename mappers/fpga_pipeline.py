"""Chunk-pipelined FPGA paradigm (HW-NAS-Bench's ZC706 device; Shen et al. ISCA'17, DNNBuilder ICCAD'18).

Hardware abstraction
--------------------
The layers of a network, in topological order, are cut into consecutive *chunks*. Each chunk is a
sub-accelerator with its own compute engine of ``Tn`` input-channel x ``Tm`` output-channel MAC lanes
(``Tn*Tm`` DSP48 slices at 16 bit, half that with 8-bit packing) and its own BRAM buffers (a line/column
buffer of the input map, a ping-pong weight tile, ping-pong output rows). A chunk runs its layers in turn;
the chunks form a pipeline across frames, so the throughput is set by the slowest chunk (the *period*).

Timing of a layer on an engine (cycles at the fabric clock):

- conv: ``N*P*Q*R*S * G * ceil(Cg/Tn) * ceil(Kg/Tm)`` (groups one after another; a factor that does not
  divide a channel count wastes lanes). A depthwise conv has one input channel per output; with
  ``engine.depthwise: per_group`` (default, a dense engine without a depthwise path) it is the grouped
  schedule above, one busy lane (``N*P*Q*R*S*C``); with ``output_lanes`` (a depthwise-aware engine) its
  channels go across the Tm lanes and the Tn lanes idle (``N*P*Q*R*S*ceil(C/Tm)``).
- linear: ``N * ceil(C/Tn) * ceil(K/Tm)``.
- pooling: one R x S window per Tm lane per cycle (line-buffer window registers, fabric logic, no DSPs);
  global pooling and adds: one element per Tm lane per cycle; an add fuses into its producer's output
  stage and moves only its other operands.
- identity, zero and concat layers cost nothing (wiring; a concat's producers write at channel offsets).
- a dilated conv has the cycles of its kernel's taps; its line buffer holds its window's span,
  ``dilation x (R - 1) + 1`` rows.
- every non-free layer pays a fixed ``layer_overhead_cycles`` (loop setup, pipeline fill).

Memory: weights stream from DDR once per frame (a chunk holds one Tn x Tm x R x S tile, ping-pong); maps
between chunks stay on chip (column buffers); maps between layers *inside* a chunk go through DDR. A
chunk's stage time is ``max(compute, its DDR bytes / DDR bandwidth) + overheads``; all chunks share the
board DDR, so a frame's total traffic must also fit in one period.

Two latency figures (which one is which matters):

- ``latency_ms`` (the ``Estimate`` total and per-layer ``latency_ms``): the **layerwise** figure, HW-NAS-Bench's
  FPGA column. It does not depend on the pipeline cut. ``layerwise.composition`` says how it composes a network:

  - ``layer_sum`` (the spec's default; HW-NAS-Bench's NAS-Bench-201 table): the sum over layers of each layer
    run on its own on a layer engine of at most ``layerwise.max_*_lanes`` within the DSP budget: input map
    loaded, computed, output map stored one after the other through one AXI port, weights streaming
    concurrently through a second port unless they are on chip (``layerwise.weights``: ``buffered`` when they
    fit ``weight_buffer_kb``, ``resident_if_fit`` when they fit the BRAM budget beside the map buffers, or
    ``streamed``); on-chip weights are loaded once, outside a steady-state measurement.
  - ``separable_blocks`` (HW-NAS-Bench's FBNet table, the spec's ``search_space_overrides.fbnet``): every
    depthwise-separable block (1x1 conv, depthwise conv, 1x1 conv in a row) is a pipeline of two
    sub-accelerators, a pointwise chunk running both 1x1 convs and a depthwise chunk, and takes its bottleneck
    chunk's time (HW-NAS-Bench's "bottleneck latency across sub-accelerators" per block): pointwise
    ``II x (MACs / pointwise_lanes + output words / write_words)`` per 1x1 conv, depthwise
    ``II x MACs / depthwise_lanes`` (``layerwise.block_pipeline``). Layers outside blocks cost nothing or
    their ``layer_sum`` time (``other_layers``). Per layer, a block's 1x1 convs carry their pointwise-chunk time
    and its depthwise conv the excess of its chunk over that; ``cycles`` are each layer's own chunk cycles.

- pipeline figures in ``extra``: ``period_ms`` (slowest chunk), ``frames_per_s``, ``throughput_gops``
  (one MAC = 2 ops), ``pipeline_latency_ms`` (one frame through all chunks without column overlap),
  ``column_pipelined_latency_ms`` (chunks overlapping on row tiles, DNNBuilder's column-based cache),
  ``bottleneck_chunk``, and per chunk its layers, Tn, Tm, DSP, BRAM, DDR bandwidth.

Energy: ``latency x constant board power`` (HW-NAS-Bench's convention; its published energies are exactly
7.0 W x latency), or with ``power.mode: resource`` static + per-DSP/BRAM/DDR dynamic power.

Design-space exploration
------------------------
Layers are grouped into *units* (a MAC layer with the non-MAC layers after it, which fuse into its chunk).
A chunk is a run of 1..``max_layers_per_chunk`` units. For every candidate chunk the kernel builds the
Pareto frontier (DSP, stage time) over the engine set (``input_lanes x output_lanes`` of the spec, every
engine that fits the device) with prefix sums of per-layer cycles, so a chunk's time for any engine costs
O(1). The period T is bracketed from lower bounds that depend on the layers and the device only (the
slowest unit on its best engine, the DDR traffic) in 25 % steps and bisected to 0.1 %; probes below the
least DSP-cycles over the DSP budget are infeasible without a DP. A T is feasible when a DP over cuts,
giving each chunk its least-DSP engine meeting T, fits the DSP budget (exact) and the BRAM and per-period
DDR budgets; when the least-DSP cut breaks BRAM or DDR, cuts that also price BRAM and DDR traffic (each
chunk then takes its cheapest engine meeting T at those prices) are tried on a fixed grid of prices
normalised by the device totals (a Lagrangian heuristic). The cuts tried at a T do not depend on the DSP
budget, so feasibility at each T is monotone in it, and the probe points do not depend on it either: a
larger DSP budget follows the same probes until it meets a T the smaller one could not, and ends at a
probe period no larger (more DSP never lowers throughput, by construction up to the gap between a design's
probe period and its actual period). Because the design maximises throughput and energy is proportional
to latency, every objective gives the same design.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from accelmodel.cost import LayerCost, NetworkCost
from accelmodel.specs import ArchSpec, SpecError

from . import check_objective
from . import fpga_kernels as fk

PARADIGM = "fpga_pipeline"

#: short override names -> spec paths (`estimate(..., budget={...})`)
BUDGET_KEYS = {
    "dsp": "budget.dsp",
    "bram": "budget.bram",
    "clock_mhz": "clock_mhz",
    "data_bits": "data_bits",
    "ddr_gbps": "memory.ddr_peak_gbps",
    "ddr_efficiency": "memory.ddr_efficiency",
    "max_layers_per_chunk": "engine.max_layers_per_chunk",
    "layer_overhead_cycles": "engine.layer_overhead_cycles",
    "power_mode": "power.mode",
    "depthwise": "engine.depthwise",
    "layerwise_max_input_lanes": "layerwise.max_input_lanes",
    "layerwise_max_output_lanes": "layerwise.max_output_lanes",
    "layerwise_weights": "layerwise.weights",
    "weight_buffer_kb": "layerwise.weight_buffer_kb",
    "layerwise_composition": "layerwise.composition",
}


class FitError(ValueError):
    """The network cannot be mapped onto the board within the budget."""


@dataclass(frozen=True)
class FPGAConfig:
    name: str
    clock_hz: float
    data_bits: int
    dsp_budget: int
    bram_budget: int
    dsp_per_mac: float
    tn: np.ndarray = field(repr=False, compare=False)
    tm: np.ndarray = field(repr=False, compare=False)
    dsp: np.ndarray = field(repr=False, compare=False)
    hw: np.ndarray = field(repr=False, compare=False)
    ddr_gbps: float
    port_gbps: float
    dw_per_group: bool
    power_mode: str
    board_w: float
    static_w: float
    dsp_w: float
    bram_w: float
    ddr_w_per_gbps: float
    default_objective: str
    key: tuple

    def power_w(self, dsp_used: float, bram_used: float, ddr_gbps_used: float) -> float:
        """Board power of a design: the constant HW-NAS-Bench figure, or the resource model."""
        if self.power_mode == "constant":
            return self.board_w
        return self.resource_power_w(dsp_used, bram_used, ddr_gbps_used)

    def resource_power_w(self, dsp_used: float, bram_used: float, ddr_gbps_used: float) -> float:
        return self.static_w + dsp_used * self.dsp_w + bram_used * self.bram_w + ddr_gbps_used * self.ddr_w_per_gbps


_LW_WEIGHTS = {"streamed": fk.LW_STREAMED, "resident_if_fit": fk.LW_RESIDENT_IF_FIT, "buffered": fk.LW_BUFFERED}
_COMPOSITIONS = {"layer_sum": fk.LAYER_SUM, "separable_blocks": fk.SEPARABLE_BLOCKS}


def _resolve_overrides(spec: ArchSpec, overrides: dict | None) -> dict:
    if not overrides:
        return {}
    if not isinstance(overrides, dict):
        raise SpecError(f"budget must be a dict like {{'dsp': 723, 'bram': 545}}, got {overrides!r}")
    out = {}
    for key, value in overrides.items():
        if key in BUDGET_KEYS:
            out[BUDGET_KEYS[key]] = value
        elif isinstance(key, str) and "." in key:
            out[key] = value
        else:
            raise SpecError(
                f"spec {spec.name!r}: unknown budget/override key {key!r}; allowed: {sorted(BUDGET_KEYS)} "
                "or a dotted spec path"
            )
    return out


def configure(spec: ArchSpec, overrides: dict | None = None) -> FPGAConfig:
    """A validated config from an `fpga_pipeline` spec; `overrides` take the names in `BUDGET_KEYS`
    (``dsp``, ``bram``, ...) or dotted spec paths."""
    if spec.paradigm != PARADIGM:
        raise SpecError(f"spec {spec.name!r} has paradigm {spec.paradigm!r}, not {PARADIGM!r}")
    spec = spec.with_overrides(_resolve_overrides(spec, overrides))
    dev_dsp = spec.get("device.dsp", int, min=1)
    dev_bram = spec.get("device.bram36", int, min=1)
    dsp_budget = spec.get("budget.dsp", int, min=1, max=dev_dsp)
    bram_budget = spec.get("budget.bram", int, min=1, max=dev_bram)
    clock_mhz = spec.get("clock_mhz", float, min=0.0, exclusive_min=True)
    data_bits = spec.get("data_bits", int, choices=(8, 16))
    dsp_per_mac = spec.get(f"engine.dsp_per_mac_{data_bits}bit", float, min=0.0, exclusive_min=True)
    # descriptive fields (the device's name and fabric, the other data width's DSP cost): checked, not used
    spec.get("device.part", str, default=None)
    for fname in ("device.luts", "device.flip_flops"):
        spec.get(fname, int, min=1, default=None)
    for bits in (8, 16):
        spec.get(f"engine.dsp_per_mac_{bits}bit", float, min=0.0, exclusive_min=True, default=None)
    tn_list = spec.get("engine.input_lanes", list)
    tm_list = spec.get("engine.output_lanes", list)
    for fname, values in (("engine.input_lanes", tn_list), ("engine.output_lanes", tm_list)):
        if not values or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values):
            raise SpecError(f"spec {spec.name!r}: field {fname!r} must be a non-empty list of ints >= 1, got {values!r}")
    max_units = spec.get("engine.max_layers_per_chunk", int, min=1, max=64)
    dw_mode = spec.get("engine.depthwise", str, choices=("per_group", "output_lanes"))
    overhead = spec.get("engine.layer_overhead_cycles", float, min=0.0)
    ddr_peak = spec.get("memory.ddr_peak_gbps", float, min=0.0, exclusive_min=True)
    ddr_eff = spec.get("memory.ddr_efficiency", float, min=0.0, max=1.0, exclusive_min=True)
    port_bits = spec.get("memory.chunk_port_bits", int, min=8)
    port_eff = spec.get("memory.port_efficiency", float, min=0.0, max=1.0, exclusive_min=True)
    lw_tn = spec.get("layerwise.max_input_lanes", int, min=1)
    lw_tm = spec.get("layerwise.max_output_lanes", int, min=1)
    lw_weights = spec.get("layerwise.weights", str, choices=tuple(_LW_WEIGHTS))
    # the weight buffer and the block pipeline are required where the spec uses them; present elsewhere (a
    # spec whose per-space override switches them on), they are checked all the same
    optional = {"default": None}
    buffered = lw_weights == "buffered"
    wbuf_kb = spec.get("layerwise.weight_buffer_kb", float, min=0.0, **({} if buffered else optional))
    wbuf_kb = wbuf_kb if buffered else 0.0
    composition = spec.get("layerwise.composition", str, choices=tuple(_COMPOSITIONS), default="layer_sum")
    blocks = composition == "separable_blocks"
    need = {} if blocks else optional
    bp = "layerwise.block_pipeline."
    bp_ii = spec.get(bp + "initiation_interval", float, min=0.0, exclusive_min=True, **need)
    bp_pw = spec.get(bp + "pointwise_lanes", int, min=1, **need)
    bp_dw = spec.get(bp + "depthwise_lanes", int, min=1, **need)
    bp_ww = spec.get(bp + "write_words", float, min=0.0, exclusive_min=True, **need)
    bp_expand = spec.get(bp + "expand_resolution", str, choices=("block_output", "own"), **need)
    bp_other = spec.get(bp + "other_layers", str, choices=("free", "layer_sum"), **need)
    if not blocks:  # the kernel's neutral values: the block pipeline is off
        bp_ii, bp_pw, bp_dw, bp_ww, bp_expand, bp_other = 1.0, 1, 1, 1.0, "own", "layer_sum"
    if composition == "separable_blocks" and (bp_pw + bp_dw) * dsp_per_mac > dsp_budget:
        raise SpecError(
            f"spec {spec.name!r}: layerwise.composition 'separable_blocks' runs a block's pointwise and depthwise "
            f"chunks side by side on {bp_pw} + {bp_dw} MAC lanes ({(bp_pw + bp_dw) * dsp_per_mac:g} DSP); "
            f"budget.dsp is {dsp_budget}"
        )
    bram_bits = spec.get("memory.bram_bits", int, min=1)
    bram_port_bits = spec.get("memory.bram_port_bits", int, min=1)
    extra_rows = spec.get("memory.line_buffer_extra_rows", int, min=0)
    power_mode = spec.get("power.mode", str, choices=("constant", "resource"))
    board_w = spec.get("power.board_w", float, min=0.0, exclusive_min=True)
    static_w = spec.get("power.static_w", float, min=0.0)
    dsp_w = spec.get("power.dsp_mw", float, min=0.0) * 1e-3
    bram_w = spec.get("power.bram_mw", float, min=0.0) * 1e-3
    ddr_w = spec.get("power.ddr_w_per_gbps", float, min=0.0)
    objective = check_objective(spec.get("mapper.objective", str, default="latency"))
    spec.refuse_unread("the fpga_pipeline mapper")

    clock_hz = clock_mhz * 1e6
    word_bytes = data_bits / 8
    pairs = [(a, b) for a in sorted(set(tn_list)) for b in sorted(set(tm_list))]
    tn = np.array([p[0] for p in pairs], dtype=np.float64)
    tm = np.array([p[1] for p in pairs], dtype=np.float64)
    dsp = np.ceil(tn * tm * dsp_per_mac)
    ddr_gbps = ddr_peak * ddr_eff
    hw = np.zeros(fk.NHW)
    hw[fk.HW_WORD_BYTES] = word_bytes
    hw[fk.HW_PORT_BYTES] = port_bits / 8 * port_eff
    hw[fk.HW_LW_MAX_TN] = lw_tn
    hw[fk.HW_LW_MAX_TM] = lw_tm
    hw[fk.HW_DW_PER_GROUP] = 1.0 if dw_mode == "per_group" else 0.0
    hw[fk.HW_LW_WEIGHTS] = _LW_WEIGHTS[lw_weights]
    hw[fk.HW_LW_WBUF_BITS] = wbuf_kb * 1024 * 8
    hw[fk.HW_COMPOSITION] = _COMPOSITIONS[composition]
    hw[fk.HW_BP_II] = bp_ii
    hw[fk.HW_BP_PW_LANES] = bp_pw
    hw[fk.HW_BP_DW_LANES] = bp_dw
    hw[fk.HW_BP_WRITE_WORDS] = bp_ww
    hw[fk.HW_BP_EXPAND_OUT] = 1.0 if bp_expand == "block_output" else 0.0
    hw[fk.HW_BP_OTHER_FREE] = 1.0 if bp_other == "free" else 0.0
    hw[fk.HW_DSP_DEVICE] = dev_dsp
    hw[fk.HW_BRAM_DEVICE] = dev_bram
    hw[fk.HW_DDR_BYTES] = ddr_gbps * 1e9 / clock_hz
    hw[fk.HW_OVERHEAD] = overhead
    hw[fk.HW_BRAM_BITS] = bram_bits
    hw[fk.HW_BRAM_PORT_BITS] = bram_port_bits
    hw[fk.HW_EXTRA_ROWS] = extra_rows
    hw[fk.HW_DSP_BUDGET] = dsp_budget
    hw[fk.HW_BRAM_BUDGET] = bram_budget
    hw[fk.HW_MAX_UNITS] = max_units
    hw[fk.HW_CHUNK_BRAM] = 0.0
    key = (PARADIGM, spec.digest, dsp_budget, bram_budget)
    return FPGAConfig(
        name=spec.name, clock_hz=clock_hz, data_bits=data_bits, dsp_budget=dsp_budget, bram_budget=bram_budget,
        dsp_per_mac=dsp_per_mac, tn=tn, tm=tm, dsp=dsp, hw=hw, ddr_gbps=ddr_gbps,
        port_gbps=port_bits / 8 * port_eff * clock_hz / 1e9, dw_per_group=dw_mode == "per_group",
        power_mode=power_mode, board_w=board_w, static_w=static_w,
        dsp_w=dsp_w, bram_w=bram_w, ddr_w_per_gbps=ddr_w, default_objective=objective, key=key,
    )


# ---- layers as rows -----------------------------------------------------------------------------

_KIND = {"conv2d": fk.CONV, "linear": fk.LINEAR, "avgpool": fk.POOL, "maxpool": fk.POOL,
         "global_avgpool": fk.GPOOL, "add": fk.ADD, "identity": fk.FREE, "zero": fk.FREE,
         "concat": fk.FREE}  # a concat is a layout: producers write at channel offsets of one buffer


def encode_layer(layer) -> np.ndarray:
    if layer.op not in _KIND:
        raise ValueError(f"layer {layer.name!r}: op {layer.op!r} is not modelled by the chunk pipeline "
                         f"(it costs {sorted(_KIND)})")
    row = np.zeros(fk.NCOLS)
    row[fk.KIND] = _KIND[layer.op]
    row[fk.N], row[fk.C], row[fk.H], row[fk.W] = layer.in_shape
    row[fk.K], row[fk.P], row[fk.Q] = layer.out_shape[1:]
    row[fk.R], row[fk.S] = layer.kernel
    row[fk.R_SPAN] = layer.extent[0]  # a dilated kernel's line buffer holds its whole window span
    row[fk.STRIDE] = layer.stride[0]
    row[fk.GROUPS] = layer.groups
    row[fk.MACS] = layer.macs
    row[fk.IN_EL] = layer.input_elements
    row[fk.OUT_EL] = layer.output_elements
    row[fk.WEIGHTS] = layer.params
    row[fk.NINPUTS] = layer.num_inputs
    return row


def encode_layers(layers) -> np.ndarray:
    """One float64 row per layer (columns in `fpga_kernels`), for `evaluate_sequences`."""
    layers = list(layers)
    if not layers:
        return np.zeros((0, fk.NCOLS))
    return np.stack([encode_layer(l) for l in layers])


# ---- the network mapper -------------------------------------------------------------------------

def _raise_fit_error(layers, rows, res, config: FPGAConfig):
    worst = int(res[9])
    short = float(res[10])
    if res[0] == 2 and short <= 0:
        raise FitError(
            f"network does not fit the board: the search found no chunked design of its {len(layers)} layers "
            f"within {config.dsp_budget} DSP, {config.bram_budget} BRAM36 and {config.ddr_gbps:.1f} GB/s DDR "
            "at once (each fits alone); raise the BRAM budget or max_layers_per_chunk"
        )
    if res[0] == 2:
        raise FitError(
            f"network does not fit the board: {len(layers)} layers need at least {config.dsp_budget + short:.0f} "
            f"DSP (one MAC lane per chunk on the fewest chunks of <= "
            f"{int(config.hw[fk.HW_MAX_UNITS])} MAC layers), the budget is {config.dsp_budget} DSP "
            f"({short:.0f} DSP short)"
        )
    layer = layers[worst]
    need = fk.layer_buffer_bram(rows[worst], 1.0, 1.0, config.hw)
    if need > config.bram_budget:
        raise FitError(
            f"layer {layer.name!r} does not fit the board: its line/weight/output buffers need {need:.0f} BRAM36 "
            f"even with a 1x1 engine, the budget is {config.bram_budget} BRAM36 ({need - config.bram_budget:.0f} "
            "BRAM36 short); no spill path for these buffers is modelled"
        )
    raise FitError(
        f"network does not fit the board: the smallest chunked design needs {short:.0f} BRAM36 more than the "
        f"budget of {config.bram_budget} BRAM36; layer {layer.name!r} has the largest buffer ({need:.0f} BRAM36)"
    )


def _column_latency(rows, chunk_of, eng_of, stage, config: FPGAConfig) -> float:
    """Single-frame latency when chunks overlap on column/row tiles (DNNBuilder's column-based cache): a
    chunk starts once its predecessor has produced the R + stride input rows its first layer needs, so
    each chunk but the last adds only that fraction of its last layer's time (the layers before it inside
    the chunk run in full: their maps go through DDR). An estimate; stage overheads are kept whole."""
    f = config.clock_hz
    nch = len(stage)
    total = 0.0
    for c in range(nch):
        idx = np.flatnonzero(chunk_of == c)
        if c == nch - 1:
            total += stage[c]
            break
        nxt = rows[int(np.flatnonzero(chunk_of == c + 1)[0])]
        if nxt[fk.KIND] in (fk.LINEAR, fk.GPOOL) or nxt[fk.H] <= 1:
            frac = 1.0
        else:
            frac = min(1.0, (nxt[fk.R_SPAN] + nxt[fk.STRIDE]) / nxt[fk.H])
        e = eng_of[c]
        last = rows[int(idx[-1])]
        last_cyc = fk.layer_cycles(last, config.tn[e], config.tm[e], config.dw_per_group)
        # the chunk's last MAC/pool layer (an add fused at the end streams with it)
        if last[fk.KIND] == fk.ADD and len(idx) > 1:
            last_cyc += fk.layer_cycles(rows[int(idx[-2])], config.tn[e], config.tm[e], config.dw_per_group)
        last_cyc = min(last_cyc, stage[c])
        total += stage[c] - last_cyc * (1.0 - frac)
    return float(total) / f


def _block_roles(rows, config: FPGAConfig) -> list:
    """Per row: (role, lanes, charged MACs, own chunk cycles) of the layers inside separable blocks under the
    separable_blocks composition (role "pointwise chunk" / "depthwise chunk"), (None, ...) otherwise. Mirrors
    `fpga_kernels.composed_cycles`'s block detection."""
    n = len(rows)
    out = [(None, 0, 0.0, 0.0)] * n
    hw = config.hw
    if hw[fk.HW_COMPOSITION] != fk.SEPARABLE_BLOCKS:
        return out
    pw, dw = int(hw[fk.HW_BP_PW_LANES]), int(hw[fk.HW_BP_DW_LANES])
    i = 1
    while i < n - 1:
        if fk.is_depthwise(rows[i]) and fk.is_pointwise(rows[i - 1]) and fk.is_pointwise(rows[i + 1]):
            t_e, t_p, t_d = fk.block_chunk_cycles(rows[i - 1], rows[i], rows[i + 1], hw)
            e, d = rows[i - 1], rows[i]
            e_px = e[fk.N] * e[fk.P] * e[fk.Q]
            px = d[fk.N] * d[fk.P] * d[fk.Q] if hw[fk.HW_BP_EXPAND_OUT] > 0 else e_px
            out[i - 1] = ("pointwise chunk", pw, e[fk.MACS] * px / e_px, t_e)
            out[i] = ("depthwise chunk", dw, d[fk.MACS], t_d)
            out[i + 1] = ("pointwise chunk", pw, rows[i + 1][fk.MACS], t_p)
            i += 3
        else:
            i += 1
    return out


def _design(rows, config: FPGAConfig):
    return fk.design(rows, config.tn, config.tm, config.dsp, config.hw)


def map_network(graph, config: FPGAConfig, objective: str = "latency") -> NetworkCost:
    """The best chunked pipeline for `graph` on the board (see the module docstring)."""
    check_objective(objective)
    layers = graph.layers
    rows_all = encode_layers(layers)
    active = [i for i, l in enumerate(layers) if rows_all[i, fk.KIND] != fk.FREE]
    f = config.clock_hz
    total_macs = float(sum(l.macs for l in layers))
    if not active:
        zero = LayerCost(0, 0.0, 0.0, {"board": 0.0}, {"dram": 0.0}, 0.0, "free (wiring)", {"chunk": -1})
        return NetworkCost([zero] * len(layers), 0.0, 0.0, {"throughput_gops": 0.0, "resources": {}})
    rows = rows_all[active]
    act_layers = [layers[i] for i in active]
    res = _design(rows, config)
    if res[0] != 0:
        _raise_fit_error(act_layers, rows, res, config)
    _, period_cyc, chunk_of, eng_of, nch, lw_cyc, stage, cbram, cbytes, _, _ = res
    lcyc = fk.composed_cycles(rows, lw_cyc, config.hw)
    period_s = period_cyc / f
    latency_s = float(lcyc.sum()) / f
    dsp_chunks = [float(config.dsp[e]) for e in eng_of]
    dsp_used = float(sum(dsp_chunks))
    bram_used = float(cbram.sum())
    ddr_gbps_used = float(cbytes.sum()) / period_s / 1e9 if period_s > 0 else 0.0
    power = config.power_w(dsp_used, bram_used, ddr_gbps_used)
    energy_j = latency_s * power

    chunk_layers: list[list[str]] = [[] for _ in range(nch)]
    for j, li in enumerate(active):
        chunk_layers[chunk_of[j]].append(layers[li].name)
    chunks = []
    for c in range(nch):
        e = eng_of[c]
        chunks.append({
            "chunk": c, "layers": chunk_layers[c], "tn": int(config.tn[e]), "tm": int(config.tm[e]),
            "dsp": dsp_chunks[c], "bram36": float(cbram[c]), "stage_ms": float(stage[c] / f * 1e3),
            "ddr_mb_per_frame": float(cbytes[c] / 1e6), "ddr_gbps": float(cbytes[c] / period_s / 1e9),
        })
    column_latency_s = _column_latency(rows, chunk_of, eng_of, stage, config)
    bottleneck = int(np.argmax(stage))
    ddr_bound = float(cbytes.sum()) / (config.ddr_gbps * 1e9) >= period_s * (1 - 1e-9) and stage[bottleneck] < period_cyc

    roles = _block_roles(rows, config)
    costs = []
    word_bytes = config.data_bits / 8
    pos = {li: j for j, li in enumerate(active)}
    for i, layer in enumerate(layers):
        if i not in pos:
            costs.append(LayerCost(0, 0.0, 0.0, {"board": 0.0}, {"dram": 0.0}, 0.0, "free (wiring)", {"chunk": -1}))
            continue
        j = pos[i]
        c = int(chunk_of[j])
        e = eng_of[c]
        cyc = float(lcyc[j])
        lat = cyc / f
        words = fk.layer_bytes(rows[j], word_bytes) / word_bytes
        pipeline = {"chunk": c, "chunk_tn": int(config.tn[e]), "chunk_tm": int(config.tm[e]),
                    "chunk_cycles": float(fk.layer_cycles(rows[j], config.tn[e], config.tm[e], config.dw_per_group))}
        pipe_map = f"pipeline chunk {c}: Tn={int(config.tn[e])} Tm={int(config.tm[e])}"
        role, lanes, charged_macs, own_cyc = roles[j]
        if role is None:
            le = fk.layerwise_engine(rows[j], config.tn, config.tm, config.dsp, config.hw)
            ltn, ltm = (1, 1) if le < 0 else (int(config.tn[le]), int(config.tm[le]))
            comp = fk.layer_cycles(rows[j], float(ltn), float(ltm), config.dw_per_group)
            map_cyc = (rows[j][fk.IN_EL] + rows[j][fk.OUT_EL]) * word_bytes / config.hw[fk.HW_PORT_BYTES]
            resident = bool(fk.layerwise_weights_resident(rows[j], float(ltn), float(ltm), config.hw))
            w_cyc = 0.0 if resident else rows[j][fk.WEIGHTS] * word_bytes / config.hw[fk.HW_PORT_BYTES]
            free = config.hw[fk.HW_COMPOSITION] == fk.SEPARABLE_BLOCKS and config.hw[fk.HW_BP_OTHER_FREE] > 0
            util = layer.macs / (cyc * ltn * ltm) if layer.macs and cyc > 0 else 0.0
            lw_info = {"layerwise_tn": ltn, "layerwise_tm": ltm, "compute_cycles": float(comp),
                       "map_cycles": float(map_cyc), "weight_cycles": float(w_cyc), "weights_resident": resident,
                       "zero_latency_reason": "outside separable blocks: the spec prices none" if free else "",
                       "bound": ("outside blocks: free" if free else
                                 "weights" if w_cyc > map_cyc + comp else ("compute" if comp >= map_cyc else "maps"))}
            mapping = f"layerwise Tn={ltn} Tm={ltm} | {pipe_map}"
        else:
            # a separable block's layer: `cycles` are its chunk's busy cycles (its utilization: the MACs the block
            # rule charges over its chunk's lanes), `latency` its share of the block's bottleneck time
            cyc = float(own_cyc)
            util = charged_macs / (cyc * lanes) if cyc > 0 else 0.0
            lw_info = {"layerwise_tn": 1, "layerwise_tm": lanes, "compute_cycles": cyc,
                       "charged_macs": float(charged_macs), "bound": role,
                       "zero_latency_reason": "" if lat > 0 else "hidden behind the block's bottleneck chunk"}
            mapping = f"block {role}, {lanes} lanes | {pipe_map}"
        costs.append(LayerCost(
            macs=int(layer.macs), cycles=cyc, latency_s=lat, energy_j={"board": lat * power},
            accesses={"dram": words}, utilization=float(util), mapping=mapping, extra={**pipeline, **lw_info},
        ))
    extra = {
        "throughput_gops": 2.0 * total_macs / period_s / 1e9 if period_s > 0 else 0.0,
        "resources": {"dsp": dsp_used, "bram36": bram_used, "dsp_budget": config.dsp_budget,
                      "bram_budget": config.bram_budget, "ddr_gbps": ddr_gbps_used,
                      "ddr_gbps_available": config.ddr_gbps},
        "latency_kind": "layerwise: sum of per-layer times on the chosen design (HW-NAS-Bench FPGA column)",
        "period_ms": period_s * 1e3,
        # a period processes one batch of N frames
        "frames_per_s": graph.batch / period_s if period_s > 0 else 0.0,
        "pipeline_latency_ms": float(stage.sum()) / f * 1e3,
        "column_pipelined_latency_ms": column_latency_s * 1e3,
        "bottleneck_chunk": "ddr" if ddr_bound else bottleneck,
        "num_chunks": int(nch),
        "chunks": chunks,
        "power_w": power,
        "resource_power_w": config.resource_power_w(dsp_used, bram_used, ddr_gbps_used),
        "peak_gops": 2.0 * config.dsp_budget / config.dsp_per_mac * f / 1e9,
    }
    return NetworkCost(costs, latency_s, energy_j, extra)


def evaluate_sequences(layer_rows: np.ndarray, sequences: np.ndarray, lengths: np.ndarray, config: FPGAConfig,
                       objective: str = "latency") -> dict[str, np.ndarray]:
    """Batch path for data-set builders: network i is ``layer_rows[sequences[i, :lengths[i]]]`` (rows from
    `encode_layers`, topological order). Returns arrays latency_ms, energy_mj, throughput_gops, frames_per_s
    (one value per network), equal to `map_network` on the same networks. A network that cannot fit raises
    `FitError` naming its index (use `map_network` on it for the layer and the amount short)."""
    check_objective(objective)
    layer_rows = np.ascontiguousarray(layer_rows, dtype=np.float64)
    sequences = np.ascontiguousarray(sequences, dtype=np.int64)
    lengths = np.ascontiguousarray(lengths, dtype=np.int64)
    if layer_rows.ndim != 2 or layer_rows.shape[1] != fk.NCOLS:
        raise ValueError(f"layer_rows must have shape (n, {fk.NCOLS}) from encode_layers, got {layer_rows.shape}")
    if sequences.ndim != 2 or lengths.shape != (sequences.shape[0],):
        raise ValueError(f"sequences must be 2-D and lengths one per row; got {sequences.shape} and {lengths.shape}")
    if (lengths < 0).any() or (lengths > sequences.shape[1]).any():
        raise ValueError("lengths must be within 0..sequences.shape[1]")
    if sequences.size and ((sequences < 0) | (sequences >= len(layer_rows))).any():
        mask = np.arange(sequences.shape[1])[None, :] < lengths[:, None]
        if ((sequences < 0) | (sequences >= len(layer_rows)))[mask].any():
            raise ValueError(f"sequences index rows outside 0..{len(layer_rows) - 1}")
    status, lat, per, macs = fk.evaluate_batch(layer_rows, sequences, lengths, config.tn, config.tm, config.dsp,
                                               config.hw)
    bad = np.flatnonzero(status != 0)
    if bad.size:
        raise FitError(f"networks {bad[:10].tolist()} do not fit the board within the budget "
                       f"(dsp={config.dsp_budget}, bram={config.bram_budget}); map_network names the layer")
    f = config.clock_hz
    latency_ms = lat / f * 1e3
    with np.errstate(divide="ignore", invalid="ignore"):
        period_s = per / f
        first = layer_rows[sequences[:, 0], fk.N] if sequences.shape[1] else np.ones(len(lengths))
        fps = np.where(period_s > 0, first / np.where(period_s > 0, period_s, 1.0), 0.0)
        gops = np.where(period_s > 0, 2.0 * macs / period_s / 1e9, 0.0)
    if config.power_mode != "constant":
        raise ValueError("evaluate_sequences supports power.mode 'constant' only; use map_network for 'resource'")
    energy_mj = latency_ms * config.board_w
    return {"latency_ms": latency_ms, "energy_mj": energy_mj, "throughput_gops": gops, "frames_per_s": fps}
