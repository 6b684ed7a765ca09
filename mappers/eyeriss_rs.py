"""Eyeriss row-stationary (RS) mapper: exhaustive mapping-space search with Accelergy-style energy.

The space is the RS space of the Eyeriss papers (Chen et al., ISCA 2016 and JSSC 2017) in the loop-factor
notation of DNN-Chip Predictor (Zhao et al., ICASSP 2020): a logical PE set of R filter rows x e1 output
rows, replicated over m1 filters, c1 channels and g1 groups on the physical array; m0 filters, c0 channels
and n0 images interleaved in each PE's scratchpads; m2, c2, g2 passes over the global buffer (GLB); m3
ifmap re-fetches, c3 partial-sum spills, e3 output-row strips and n3 image groups from DRAM. The cost of
one mapping and the search live in `eyeriss_kernels` (Numba); this module turns layers and specs into
arrays and results into `LayerCost` records.

Search and pruning: every combination of divisors is visited, in increasing order at each loop level.
The capacities (PE count, the three spads, the GLB) are monotone in the factors a level grows, so the
first divisor that breaks one ends that loop -- every larger divisor breaks it too. Only illegal mappings
are skipped; every legal mapping is costed, so the reported optimum is the true optimum of the space
(see `eyeriss_kernels.search`).

Layer types (how Eyeriss runs each; the spec's ``conventions`` section chooses where there is a choice):
- convolution: groups are their own loop (g1 spatial, g2 temporal); depthwise is groups = channels.
- fully connected: a 1x1 convolution on a 1x1 plane (E = F = R = S = 1).
- pooling: ``conventions.pooling`` = ``dense_conv`` (costed like a dense k x k convolution C -> C, as
  DNN-Chip Predictor and Timeloop were fed NAS-Bench-201's pooling for HW-NAS-Bench) or ``depthwise``
  (one k x k window per channel, as the PE array would run it); ``pool_mac_energy`` says whether the
  window operations are charged as MACs.
- add: ``conventions.add`` = ``memory_traffic`` (read every input, write the output, each word once
  through DRAM at ``bandwidth.elementwise_words_per_cycle``; Eyeriss has no element-wise unit, so the
  tensors make a round trip) or ``free``; a channel-wise scale (squeeze-and-excitation) follows the same
  convention (its map and per-channel factors read, the map written).
- identity: ``free`` (a skip connection is a pointer) or ``copy`` (read + write through DRAM).
- zero: always free (an edge that contributes nothing); concat: always free (a layout: its producers write at
  channel offsets of one buffer).
- dilated convolutions are rejected (MappingError): the RS PE-set mapping assumes adjacent kernel taps.

Spills: the space already moves data to DRAM when the GLB is too small -- ifmap re-fetches (m3), partial-sum
spills (c3), output-row strips (e3) and image groups (n3) are DRAM-level factors that every search considers.
A layer that still has no legal mapping (a filter taller than the array, or a single input-row strip wider
than the GLB: output columns are not tiled) raises `MappingError` naming the layer and the binding capacity.

Public helpers: `evaluate_mapping(layer, config, mapping)` costs one given mapping (a dict of factors,
see its docstring); `best_mapping` returns the factors `map_layer` chooses; `format_mapping` prints one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..cost import LayerCost
from ..specs import ArchSpec, SpecError, load_spec
from ..workloads.graph import Layer
from . import check_objective
from . import eyeriss_kernels as K

PARADIGM = "eyeriss_rs"

OBJECTIVE_CODES = {"latency": K.OBJ_LATENCY, "energy": K.OBJ_ENERGY, "edp": K.OBJ_EDP, "balanced": K.OBJ_BALANCED}
#: The common objectives plus ``balanced``: DNN-Chip Predictor's rule (its Eyeriss script returns the mapping
#: minimising (energy - min) / max + (latency - min) / max over its mapping space).
OBJECTIVES = tuple(OBJECTIVE_CODES)
#: Energy levels reported (keys of LayerCost.energy_j): MACs, spads, array NoC, GLB, DRAM, clock/leakage.
ENERGY_LEVELS = ("mac", "rf", "noc", "glb", "dram", "static")
ACCESS_LEVELS = ("rf", "noc", "glb", "dram")
#: options.filter_load: a pass's filters reach the spads while the previous pass computes (``overlapped``), or the
#: pass waits for them (``serial``: the spads hold one pass's filters, JSSC's per-pass ramp-up).
FILTER_LOADS = ("overlapped", "serial")
#: mapping_space.batch_in_spads: the n0 images of a pass interleaved in the spads (each needs its ifmap and psum
#: words there; DNN-Chip Predictor's space) or run one after another with the filters held (the chip's n, JSSC Table III).
BATCH_IN_SPADS = ("interleaved", "sequential")
#: mapping_space.row_strips: a set's e1 output rows divide the E rows (``divisors``) or any e1 with ceil(E / e1)
#: strips, the last one partial (``any``: the chip strip-mines 55 rows into strips of 7, JSSC Table III).
ROW_STRIPS = ("divisors", "any")


class MappingError(ValueError):
    """A layer has no legal mapping under the spec's capacities, or a given mapping is illegal."""


@dataclass(frozen=True)
class EyerissConfig:
    name: str
    key: tuple
    default_objective: str
    clock_hz: float
    word_bits: int
    pe_rows: int
    pe_cols: int
    spad_ifmap: int
    spad_filter: int
    spad_psum: int
    glb_words: int
    bw_dram: float
    bw_glb: float
    bw_noc: float
    bw_elementwise: float
    e_mac_pj: float
    e_rf_pj: float
    e_noc_pj: float
    e_glb_pj: float
    e_dram_pj: float
    static_pj_per_cycle: float
    zero_fraction: float
    zero_gating: bool
    dram_compression: float
    grouped_conv: str
    pooling: str
    pool_mac_energy: bool
    global_pooling: str
    add: str
    identity: str
    dram_overlap: str
    placement: str
    psum_spills: bool
    min_set_rows: int
    spatial_groups: bool
    psum_spad_count: str
    e_elementwise_pj: float
    bw_ifmap_net: float
    bw_filter_net: float
    bw_psum_net: float
    filter_load: str
    strip_halo: bool
    batch_in_spads: str
    row_strips: str
    ifmap_pass_words: int
    hw: np.ndarray = field(repr=False, compare=False, hash=False)
    #: `hw` with the unit energies the mapper ranks mappings by (`selection_energy_pj`; else `hw` itself)
    hw_select: np.ndarray = field(repr=False, compare=False, hash=False, default=None)

    @property
    def pes(self) -> int:
        return self.pe_rows * self.pe_cols


def configure(spec: "ArchSpec | str | dict", overrides: dict | None = None) -> EyerissConfig:
    """Validated config of an ``eyeriss_rs`` spec (errors name the field, value and what is allowed)."""
    spec = load_spec(spec)
    if overrides:
        spec = spec.with_overrides(overrides)
    if spec.paradigm != PARADIGM:
        raise SpecError(f"spec {spec.name!r}: paradigm is {spec.paradigm!r}, this mapper reads {PARADIGM!r}")
    g = spec.get
    rows = g("pe_array.rows", int, min=1)
    cols = g("pe_array.cols", int, min=1)
    word_bits = g("word_bits", int, min=1, max=64)
    glb_kb = g("glb.kb", float, min=0, exclusive_min=True)
    glb_words = int(glb_kb * 1024 * 8 // word_bits)
    zero_gating = g("options.zero_gating", bool)
    zero_fraction = g("options.ifmap_zero_fraction", float, min=0.0, max=0.99)
    compression = g("options.dram_compression_ratio", float, min=1.0)
    e = {k: g(f"energy_pj.{k}", float, min=0.0) for k in ("mac", "rf", "noc", "glb", "dram", "static_per_cycle")}
    bw = {k: g(f"bandwidth.{k}", float, min=0.0, exclusive_min=True)
          for k in ("dram_words_per_cycle", "glb_words_per_cycle", "noc_words_per_cycle",
                    "elementwise_words_per_cycle")}
    conv = "conventions"
    cfg_fields = dict(
        name=spec.name,
        key=(PARADIGM, spec.name, spec.digest),
        default_objective=g("default_objective", str, choices=OBJECTIVES),
        clock_hz=g("clock_mhz", float, min=0, exclusive_min=True) * 1e6,
        word_bits=word_bits, pe_rows=rows, pe_cols=cols,
        spad_ifmap=g("spads.ifmap_words", int, min=1),
        spad_filter=g("spads.filter_words", int, min=1),
        spad_psum=g("spads.psum_words", int, min=1),
        glb_words=glb_words,
        bw_dram=bw["dram_words_per_cycle"], bw_glb=bw["glb_words_per_cycle"], bw_noc=bw["noc_words_per_cycle"],
        bw_elementwise=bw["elementwise_words_per_cycle"],
        e_mac_pj=e["mac"], e_rf_pj=e["rf"], e_noc_pj=e["noc"], e_glb_pj=e["glb"], e_dram_pj=e["dram"],
        static_pj_per_cycle=e["static_per_cycle"],
        zero_fraction=zero_fraction, zero_gating=zero_gating, dram_compression=compression,
        grouped_conv=g(f"{conv}.grouped_conv", str, choices=("grouped", "dense")),
        pooling=g(f"{conv}.pooling", str, choices=("dense_conv", "depthwise")),
        pool_mac_energy=g(f"{conv}.pool_mac_energy", bool),
        global_pooling=g(f"{conv}.global_pooling", str, choices=("dense_conv", "depthwise", "memory_traffic")),
        add=g(f"{conv}.add", str, choices=("memory_traffic", "free")),
        identity=g(f"{conv}.identity", str, choices=("free", "copy")),
        dram_overlap=g("options.dram_overlap", str, choices=K.OVERLAP_NAMES),
        placement=g("pe_array.placement", str, choices=K.PLACEMENT_NAMES),
        psum_spills=g("mapping_space.psum_spills", bool, default=True),
        min_set_rows=g("mapping_space.min_set_rows", int, min=1, default=1),
        spatial_groups=g("mapping_space.spatial_groups", bool, default=True),
        psum_spad_count=g(f"{conv}.psum_spad_count", str, choices=K.PSUM_COUNT_NAMES, default="rs_analysis"),
        e_elementwise_pj=g("energy_pj.elementwise", float, min=0.0),
        # the chip's GLB-to-array networks, each its own bus (0: not a separate bound; the totals above still apply)
        bw_ifmap_net=g("bandwidth.ifmap_net_words_per_cycle", float, min=0.0, default=0.0),
        bw_filter_net=g("bandwidth.filter_net_words_per_cycle", float, min=0.0, default=0.0),
        bw_psum_net=g("bandwidth.psum_net_words_per_cycle", float, min=0.0, default=0.0),
        filter_load=g("options.filter_load", str, choices=FILTER_LOADS, default="overlapped"),
        strip_halo=g("options.strip_halo", bool, default=False),
        batch_in_spads=g("mapping_space.batch_in_spads", str, choices=BATCH_IN_SPADS, default="interleaved"),
        row_strips=g("mapping_space.row_strips", str, choices=ROW_STRIPS, default="divisors"),
        # the most words one image's ifmap rows of a pass may take when it holds more than one channel (0: no limit)
        ifmap_pass_words=g("glb.ifmap_pass_words", int, min=0, default=0),
    )
    if cfg_fields["filter_load"] == "serial" and cfg_fields["bw_filter_net"] <= 0:
        raise SpecError(f"spec {spec.name!r}: options.filter_load='serial' needs bandwidth.filter_net_words_per_cycle "
                        f"> 0 (the filter bus the passes load their filters through), got {cfg_fields['bw_filter_net']}")
    # Zero gating (JSSC 2017 Sec. IV-B) skips the MAC and the spad reads of a zero ifmap value; run-length
    # compression shrinks activation traffic to and from DRAM (weights are not compressed on the chip).
    mac_scale = 1.0 - zero_fraction if zero_gating else 1.0
    rf_scale = 1.0 - zero_fraction / 3.0 if zero_gating else 1.0  # one of the three spad streams is gated
    hw = np.zeros(K.NHW)
    hw[K.HW_PES] = rows * cols
    hw[K.HW_COLS] = cols
    hw[K.HW_PLACEMENT] = K.PLACEMENT_NAMES.index(cfg_fields["placement"])
    hw[K.HW_ROWS] = rows
    hw[K.HW_SPAD_IFMAP] = cfg_fields["spad_ifmap"]
    hw[K.HW_SPAD_FILTER] = cfg_fields["spad_filter"]
    hw[K.HW_SPAD_PSUM] = cfg_fields["spad_psum"]
    hw[K.HW_GLB_WORDS] = glb_words
    hw[K.HW_BW_DRAM] = bw["dram_words_per_cycle"]
    hw[K.HW_BW_GLB] = bw["glb_words_per_cycle"]
    hw[K.HW_BW_NOC] = bw["noc_words_per_cycle"]
    hw[K.HW_E_MAC] = e["mac"] * 1e-12
    hw[K.HW_E_RF] = e["rf"] * 1e-12
    hw[K.HW_E_NOC] = e["noc"] * 1e-12
    hw[K.HW_E_GLB] = e["glb"] * 1e-12
    hw[K.HW_E_DRAM] = e["dram"] * 1e-12
    hw[K.HW_E_IDLE] = e["static_per_cycle"] * 1e-12
    hw[K.HW_MAC_SCALE] = mac_scale
    hw[K.HW_RF_SCALE] = rf_scale
    hw[K.HW_DRAM_ACT_SCALE] = 1.0 / compression
    hw[K.HW_DRAM_OVERLAP] = K.OVERLAP_NAMES.index(cfg_fields["dram_overlap"])
    hw[K.HW_PSUM_SPILLS] = 1.0 if cfg_fields["psum_spills"] else 0.0
    hw[K.HW_MIN_E1] = cfg_fields["min_set_rows"]
    hw[K.HW_SPATIAL_GROUPS] = 1.0 if cfg_fields["spatial_groups"] else 0.0
    hw[K.HW_PSUM_PER_MAC] = K.PSUM_COUNT_NAMES.index(cfg_fields["psum_spad_count"])
    hw[K.HW_BW_IFMAP_NET] = cfg_fields["bw_ifmap_net"]
    hw[K.HW_BW_FILTER_NET] = cfg_fields["bw_filter_net"]
    hw[K.HW_BW_PSUM_NET] = cfg_fields["bw_psum_net"]
    hw[K.HW_FILTER_LOAD_SERIAL] = 1.0 if cfg_fields["filter_load"] == "serial" else 0.0
    hw[K.HW_STRIP_HALO] = 1.0 if cfg_fields["strip_halo"] else 0.0
    hw[K.HW_BATCH_SEQUENTIAL] = 1.0 if cfg_fields["batch_in_spads"] == "sequential" else 0.0
    hw[K.HW_ROW_STRIPS_ANY] = 1.0 if cfg_fields["row_strips"] == "any" else 0.0
    hw[K.HW_IFMAP_PASS_WORDS] = cfg_fields["ifmap_pass_words"]
    hw_select = hw
    if spec.has("selection_energy_pj"):
        # the mapper ranks mappings by these unit energies; the reported energy uses energy_pj
        hw_select = hw.copy()
        for key, slot in (("mac", K.HW_E_MAC), ("rf", K.HW_E_RF), ("noc", K.HW_E_NOC), ("glb", K.HW_E_GLB),
                          ("dram", K.HW_E_DRAM), ("static_per_cycle", K.HW_E_IDLE)):
            hw_select[slot] = g(f"selection_energy_pj.{key}", float, min=0.0) * 1e-12
        hw_select.setflags(write=False)
    hw.setflags(write=False)
    spec.refuse_unread("the eyeriss_rs mapper")
    return EyerissConfig(hw=hw, hw_select=hw_select, **cfg_fields)


# ---- layers as RS problems ---------------------------------------------------------------------------

def input_span(size: int, out: int, kernel: int, stride: int, pad: int) -> int:
    """Input rows (or columns) from the first to the last one a window reads: the span a tile fetch moves.
    All `size` of them unless a stride larger than the kernel leaves the far edge unread (a 1x1 convolution
    with stride 2 on 16 rows reads rows 0..14). Rows inside the span that no window reads are still moved:
    the chip streams whole rows and the DMA fetches contiguous spans, as Timeloop/AccelForge count tiles."""
    first = max(0, -pad)
    last = min(size - 1, (out - 1) * stride - pad + kernel - 1)
    return max(last - first + 1, 0)


def layer_shape(layer: Layer, config: EyerissConfig) -> np.ndarray | None:
    """The kernel's layer vector for `layer`, or None for layers that never touch the PE array."""
    op = layer.op
    s = np.zeros(K.NLAYER, np.int64)
    s[K.L_N] = layer.N
    s[K.L_U] = 1
    s[K.L_DENSE] = 1
    if op == "conv2d":
        if layer.stride[0] != layer.stride[1]:
            raise MappingError(f"layer {layer.name!r}: stride {layer.stride} differs between rows and columns; "
                               "the RS mapper supports equal strides only")
        if layer.dilation != (1, 1):
            # RS maps filter rows onto PE rows and reuses ifmap rows diagonally across them, which assumes
            # adjacent taps; a dilated kernel needs another PE-set mapping, not modelled here
            raise MappingError(f"layer {layer.name!r}: dilation {layer.dilation} is not supported by the "
                               "row-stationary mapper (only undilated kernels)")
        g = layer.groups if config.grouped_conv == "grouped" else 1
        s[K.L_G], s[K.L_M], s[K.L_C] = g, layer.K // g, layer.C // g
        s[K.L_E], s[K.L_F], s[K.L_R], s[K.L_S] = layer.P, layer.Q, layer.R, layer.S
        s[K.L_U] = layer.stride[0]
        s[K.L_H] = input_span(layer.H, layer.P, layer.R, layer.stride[0], layer.padding[0])
        s[K.L_W] = input_span(layer.W, layer.Q, layer.S, layer.stride[1], layer.padding[1])
        return s
    if op == "linear":
        s[K.L_G], s[K.L_M], s[K.L_C] = 1, layer.K, layer.C
        s[K.L_E] = s[K.L_F] = s[K.L_R] = s[K.L_S] = s[K.L_H] = s[K.L_W] = 1
        return s
    if op in ("avgpool", "maxpool", "global_avgpool"):
        mode = config.global_pooling if op == "global_avgpool" else config.pooling
        if mode == "memory_traffic":
            return None
        if layer.stride[0] != layer.stride[1]:
            raise MappingError(f"layer {layer.name!r}: pooling stride {layer.stride} differs between rows and columns")
        if mode == "dense_conv":
            s[K.L_G], s[K.L_M], s[K.L_C] = 1, layer.K, layer.C
        else:  # depthwise: one window per channel
            s[K.L_G], s[K.L_M], s[K.L_C] = layer.C, 1, 1
        s[K.L_E], s[K.L_F], s[K.L_R], s[K.L_S] = layer.P, layer.Q, layer.R, layer.S
        s[K.L_U] = layer.stride[0] if op != "global_avgpool" else 1
        s[K.L_H] = input_span(layer.H, layer.P, layer.R, layer.stride[0], layer.padding[0])
        s[K.L_W] = input_span(layer.W, layer.Q, layer.S, layer.stride[1], layer.padding[1])
        s[K.L_DENSE] = 1 if config.pool_mac_energy else 0
        return s
    return None


#: The kernels multiply loop bounds in int64 (MACs, tensor sizes); a layer vector whose products could pass
#: this is refused. `Layer` bounds real MACs at 2^50; pooling costed as a dense conv (C x C) can exceed it.
MAX_KERNEL_COUNT = 1 << 62


def _check_counts(layer: Layer, shape: np.ndarray) -> None:
    n, g, m, c, e, f, r, s_, h, w = (int(shape[i]) for i in (K.L_N, K.L_G, K.L_M, K.L_C, K.L_E, K.L_F, K.L_R,
                                                             K.L_S, K.L_H, K.L_W))
    work, inputs = n * g * m * c * e * f * r * s_, n * g * c * h * w
    if max(work, inputs) > MAX_KERNEL_COUNT:
        raise MappingError(f"layer {layer.name!r}: as an RS problem it has {work:,} MAC-equivalents and {inputs:,} "
                           f"input words; the kernel counts in 64 bits and takes at most {MAX_KERNEL_COUNT:,} (2^62)")


def _elementwise_cost(layer: Layer, config: EyerissConfig) -> LayerCost:
    """Adds, identities, zeros and traffic-only pooling: DRAM round trips, no PE-array work."""
    op = layer.op
    words = 0.0
    how = "free"
    if op in ("add", "scale") and config.add == "memory_traffic":
        words = float(layer.input_elements + layer.output_elements)
        how = f"DRAM round trip: {layer.num_inputs} inputs read + output written"
    elif op == "identity" and config.identity == "copy":
        words = 2.0 * layer.output_elements
        how = "DRAM copy: read + write"
    elif op == "global_avgpool":
        words = float(layer.input_elements + layer.output_elements)
        how = "DRAM traffic: input read + output written"
    elif op in ("avgpool", "maxpool"):
        words = float(layer.input_elements + layer.output_elements)
        how = "DRAM traffic"
    words_dram = words / config.dram_compression
    cycles = words_dram / config.bw_elementwise
    latency = cycles / config.clock_hz
    energy = {lvl: 0.0 for lvl in ENERGY_LEVELS}
    energy["dram"] = words_dram * config.e_elementwise_pj * 1e-12
    energy["static"] = cycles * config.static_pj_per_cycle * 1e-12
    accesses = {lvl: 0.0 for lvl in ACCESS_LEVELS}
    accesses["dram"] = words_dram
    return LayerCost(macs=layer.macs, cycles=cycles, latency_s=latency, energy_j=energy, accesses=accesses,
                     utilization=0.0, mapping=f"{op}: {how}", extra={"bound": "dram" if words else "none"})


def _layer_cost(layer: Layer, config: EyerissConfig, shape: np.ndarray, mp: np.ndarray, cost: np.ndarray,
                evaluated: int) -> LayerCost:
    cycles = float(cost[K.CO_CYCLES])
    energy = {
        "mac": float(cost[K.CO_E_MAC]), "rf": float(cost[K.CO_E_RF]), "noc": float(cost[K.CO_E_NOC]),
        "glb": float(cost[K.CO_E_GLB]), "dram": float(cost[K.CO_E_DRAM]), "static": float(cost[K.CO_E_IDLE]),
    }
    accesses = {"rf": float(cost[K.CO_A_RF]), "noc": float(cost[K.CO_A_NOC]), "glb": float(cost[K.CO_A_GLB]),
                "dram": float(cost[K.CO_A_DRAM])}
    # The layer's own MACs, not the array's work: a depthwise layer costed as a dense conv (conventions.grouped_conv
    # = dense) or a pooling window run on the array keeps PEs busy without doing the layer's MACs.
    util = layer.macs / (cycles * config.pes) if cycles > 0 else 0.0
    bound = K.BOUND_NAMES[int(cost[K.CO_BOUND])]
    # processing: the cycles with every DRAM transfer hidden (JSSC Tables V/VI's "processing latency"); passes: the
    # processing passes (one filter load of the array each)
    extra = {"bound": bound, "pes_used": int(cost[K.CO_PES_USED]), "glb_words_used": int(cost[K.CO_GLB_USED]),
             "mappings_evaluated": int(evaluated), "processing_cycles": float(cost[K.CO_CORE]),
             "passes": int(cost[K.CO_PASSES])}
    return LayerCost(macs=layer.macs, cycles=cycles, latency_s=cycles / config.clock_hz, energy_j=energy,
                     accesses=accesses, utilization=util, mapping=format_mapping(shape, mp, cost, config),
                     extra=extra)


def grid_split(R: int, e1: int, c1: int, copies: int, config: EyerissConfig) -> tuple[int, int]:
    """How a legal `grid` mapping lays its `copies` (m1 x g1) filter/group copies out: (down the rows, across the
    columns), the first split with the fewest rows that fits beside the R x c1 rows and e1 columns of the sets."""
    for down in range(1, copies + 1):
        if copies % down == 0 and R * c1 * down <= config.pe_rows and e1 * (copies // down) <= config.pe_cols:
            return down, copies // down
    raise MappingError(f"{copies} copies of an {R} x {e1} PE set ({c1} channel copies) do not fit the "
                       f"{config.pe_rows} x {config.pe_cols} grid")


def format_mapping(shape: np.ndarray, mp: np.ndarray, cost: np.ndarray, config: EyerissConfig) -> str:
    """One line: the PE set and its replication, then the RF, GLB and DRAM factors."""
    f = dict(zip(K.MAP_NAMES, (int(v) for v in mp)))
    r = int(shape[K.L_R])
    return (f"RS set {r}x{f['e1']} x(m1 {f['m1']} c1 {f['c1']} g1 {f['g1']}) = {int(cost[K.CO_PES_USED])}/"
            f"{config.pes} PEs | RF m0 {f['m0']} c0 {f['c0']} n0 {f['n0']} | GLB m2 {f['m2']} c2 {f['c2']} "
            f"g2 {f['g2']} ({cost[K.CO_GLB_USED] * config.word_bits / 8192:.1f} KB) | DRAM m3 {f['m3']} "
            f"c3 {f['c3']} e3 {f['e3']} n3 {f['n3']} | {K.BOUND_NAMES[int(cost[K.CO_BOUND])]}-bound")


def _search(layer: Layer, config: EyerissConfig, objective: str):
    """(shape, best mapping vector, its cost, mappings evaluated) of an array layer; MappingError naming the binding
    capacity when it has no legal mapping."""
    check_objective(objective, OBJECTIVES)
    shape = layer_shape(layer, config)
    _check_counts(layer, shape)
    mp, cost, evaluated, binding = K.search(shape, config.hw_select, OBJECTIVE_CODES[objective])
    if mp[K.MAP_M0] == 0:
        raise MappingError(f"layer {layer.name!r}: no legal RS mapping; {_why_unmappable(config, shape, int(binding))}")
    if config.hw_select is not config.hw:
        K.mapping_cost(shape, mp, config.hw, cost)  # report with the spec's energies, not the ranking ones
    return shape, mp, cost, evaluated


def map_layer(layer: Layer, config: EyerissConfig, objective: str) -> LayerCost:
    """The optimal RS mapping of `layer` for `objective` and its cost."""
    check_objective(objective, OBJECTIVES)
    if layer_shape(layer, config) is None:
        return _elementwise_cost(layer, config)
    shape, mp, cost, evaluated = _search(layer, config, objective)
    return _layer_cost(layer, config, shape, mp, cost, evaluated)


def best_mapping(layer: Layer, config: EyerissConfig, objective: str | None = None) -> dict:
    """The RS factors (``m0`` ... ``g2``, see `evaluate_mapping`) `map_layer` chooses for `layer` (objective: the
    spec's default); a layer that never touches the PE array has none and raises MappingError."""
    if layer_shape(layer, config) is None:
        raise MappingError(f"layer {layer.name!r} ({layer.op}) does not run on the PE array: it has no RS mapping")
    _, mp, _, _ = _search(layer, config, objective or config.default_objective)
    return dict(zip(K.MAP_NAMES, (int(v) for v in mp)))


def _smallest_mapping(shape, min_e1: int) -> np.ndarray:
    """The mapping that needs the least of every capacity: one filter, channel, image and group per PE set,
    the narrowest set allowed (e1 >= min_e1 where the layer has the rows), everything else at the DRAM level
    (c2 = C, c3 = 1, so it stays legal without psum spills: no capacity grows with c2 or c3)."""
    f = dict.fromkeys(K.MAP_NAMES, 1)
    E = int(shape[K.L_E])
    f["e1"] = next(d for d in range(1, E + 1) if E % d == 0 and d >= min(min_e1, E))
    f.update(m3=int(shape[K.L_M]), c2=int(shape[K.L_C]), e3=E // f["e1"], n3=int(shape[K.L_N]), g2=int(shape[K.L_G]))
    return np.array([f[n] for n in K.MAP_NAMES], np.int64)


def _why_unmappable(config: EyerissConfig, shape, binding: int) -> str:
    """Which capacity leaves `shape` without a legal mapping. Every capacity is monotone in the factors, so
    the smallest mapping is legal iff any mapping is; testing it without and then with the spec's mapping-space
    rules tells whether a capacity or a rule is the cause (the search's own code names the capacity where its
    loops ended, which is misleading when a rule excluded the mappings that would fit)."""
    free = config.hw.copy()
    free[K.HW_MIN_E1] = 1.0
    free[K.HW_PSUM_SPILLS] = 1.0
    code = int(K.check_mapping(shape, _smallest_mapping(shape, 1), free))
    if code != 1:
        return f"binding capacity: {_capacity_detail(K.ILLEGAL_NAMES.get(code, 'capacity'), config, shape)}"
    rule_mp = _smallest_mapping(shape, config.min_set_rows)
    code = int(K.check_mapping(shape, rule_mp, config.hw))
    if code == 1:  # not expected: the search found nothing, yet the smallest mapping is legal
        return f"binding capacity: {_capacity_detail(K.ILLEGAL_NAMES.get(binding, 'capacity'), config, shape)}"
    what = K.ILLEGAL_NAMES.get(code, "capacity")
    e1 = int(rule_mp[K.MAP_NAMES.index("e1")])
    return (f"cause: the spec's mapping_space.min_set_rows={config.min_set_rows}: a PE set of e1={e1} output rows breaks the "
            f"{_capacity_detail(what, config, shape)}, while one row would fit (mapping_space.min_set_rows: 1 "
            "lifts the rule)")


def _capacity_detail(what: str, config: EyerissConfig, shape) -> str:
    sizes = {"pe_array": f"PE array {config.pe_rows}x{config.pe_cols}",
             "pe_rows": f"filter height R={int(shape[K.L_R])} exceeds the {config.pe_rows} PE rows",
             "ifmap_spad": f"ifmap spad {config.spad_ifmap} words (filter width S={int(shape[K.L_S])})",
             "filter_spad": f"filter spad {config.spad_filter} words (filter width S={int(shape[K.L_S])})",
             "psum_spad": f"psum spad {config.spad_psum} words",
             "glb": f"global buffer {config.glb_words} words (one input row strip and its psums do not fit)",
             "ifmap_pass": f"glb.ifmap_pass_words={config.ifmap_pass_words}: one image's ifmap rows of a pass over "
                           "more than one channel must fit it",
             "mapping_space": f"the spec's mapping space (mapping_space.psum_spills={config.psum_spills}: c3 must "
                              f"be 1 when false; mapping_space.min_set_rows={config.min_set_rows}: e1 must reach it "
                              f"unless the layer has fewer output rows; mapping_space.spatial_groups="
                              f"{config.spatial_groups}: g1 must be 1 when false)"}
    return sizes.get(what, what)


def evaluate_mapping(layer: Layer, config: EyerissConfig, mapping: dict) -> LayerCost:
    """The cost of ONE given mapping of `layer` (no search).

    `mapping` holds the RS loop factors by name: ``m0 m1 m2 m3`` split the output channels per group
    (RF, spatial, GLB, DRAM), ``c0 c1 c2 c3`` the input channels per group, ``e1 e3`` the output rows
    (spatial, DRAM strips), ``n0 n3`` the batch (RF, DRAM), ``g1 g2`` the groups (spatial, GLB). Missing
    inner factors default to 1; the outermost factor of each dimension (m3, c3, e3, n3, g2) defaults to
    what makes the product equal the dimension. An illegal mapping raises `MappingError` naming the broken
    capacity or factor.
    """
    shape = layer_shape(layer, config)
    if shape is None:
        return _elementwise_cost(layer, config)
    _check_counts(layer, shape)
    unknown = set(mapping) - set(K.MAP_NAMES)
    if unknown:
        raise MappingError(f"layer {layer.name!r}: unknown mapping factor(s) {sorted(unknown)}; "
                           f"allowed: {list(K.MAP_NAMES)}")
    dims = {"m": int(shape[K.L_M]), "c": int(shape[K.L_C]), "e": int(shape[K.L_E]), "n": int(shape[K.L_N]),
            "g": int(shape[K.L_G])}
    outer = {"m": "m3", "c": "c3", "e": "e3", "n": "n3", "g": "g2"}
    mp = np.ones(K.NMAP, np.int64)
    for i, name in enumerate(K.MAP_NAMES):
        v = mapping.get(name, None)
        if v is None:
            continue
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise MappingError(f"layer {layer.name!r}: mapping factor {name}={v!r} must be a positive int")
        mp[i] = int(v)
    for d, total in dims.items():
        o = outer[d]
        inner = 1
        for i, name in enumerate(K.MAP_NAMES):
            if name[0] == d and name != o:
                inner *= int(mp[i])
        if o not in mapping:
            if d == "e" and config.row_strips == "any":
                mp[K.MAP_E3] = -(-total // inner)  # ceil: a partial last strip
                continue
            if total % inner:
                raise MappingError(f"layer {layer.name!r}: factors of {d} multiply to {inner}, which does not "
                                   f"divide {d.upper()}={total}")
            mp[K.MAP_NAMES.index(o)] = total // inner
    cost = np.zeros(K.NCOST)
    K.mapping_cost(shape, mp, config.hw, cost)
    legal = int(cost[K.CO_LEGAL])
    if legal != 1:
        if legal == 0:
            raise MappingError(f"layer {layer.name!r}: mapping factors {dict(zip(K.MAP_NAMES, mp.tolist()))} do not "
                               f"multiply to the layer's dimensions {dims}")
        what = K.ILLEGAL_NAMES[legal]
        raise MappingError(f"layer {layer.name!r}: mapping breaks {_capacity_detail(what, config, shape)}")
    return _layer_cost(layer, config, shape, mp, cost, 1)


def peak_macs_per_s(config: EyerissConfig) -> float:
    return config.pes * config.clock_hz
