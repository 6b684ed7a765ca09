"""Numba kernels of the row-stationary (RS) mapper: the cost of one mapping and the exhaustive search.

Everything here takes plain ints, floats and arrays; `eyeriss_rs.py` builds them from layers and specs.

Layer vector ``shape`` (int64[12]): N, G, M, C, E, F, R, S, U, H, W, dense
  N batch, G groups, M output channels per group, C input channels per group, E/F output rows/cols,
  R/S filter rows/cols, U stride, H/W input rows/cols from the first to the last one a window reads (all
  of them unless a stride beyond the kernel leaves the far edge unread), dense = 1 if MACs count (0 for
  pooling costed as a window operation, where the datapath runs but no multiply-accumulate energy is charged).

Mapping vector ``mapping`` (int64[NMAP], see the MAP_* indices): the RS tiling of the Eyeriss papers
(ISCA 2016 Sec. V, JSSC 2017 Sec. III) in the loop-factor notation of DNN-Chip Predictor (Zhao et al.,
ICASSP 2020):
  m0 c0 n0  -- RF level: filters, channels and images a PE interleaves in its scratchpads (HW_BATCH_SEQUENTIAL:
               the n0 images of a pass run through the PE one after another with its filters held, so only
               m0 c0 take spad words, as the chip's p, q and n: JSSC Table III)
  m1 c1 e1 g1 -- spatial: the logical PE set is R filter rows x e1 output rows; it is replicated m1 x c1 x g1
               times (different filters / channels / groups) on the physical array; HW_PLACEMENT says
               how sets fit: ``count`` (the PE count bounds them, sets being folded into strips),
               ``stacked`` (a set is R rows x e1 <= cols columns and copies stack along the rows) or
               ``grid`` (the physical rows x cols array: a set's R filter rows and its c1 channel copies
               run down the rows, its e1 output rows across the columns, and the m1 x g1 filter/group
               copies are split between the two: R c1 a <= rows and e1 b <= cols with a b = m1 g1);
               HW_SPATIAL_GROUPS = 0 keeps g1 = 1 (groups run one after another)
  m2 c2 g2  -- GLB level: passes over filters, channels and groups while the ifmap tile stays in the GLB
  m3 c3 e3 n3 -- DRAM level: ifmap re-fetches (m3), partial-sum spills (c3), output-row strips (e3) and
               image groups (n3)
with M = m0 m1 m2 m3, C = c0 c1 c2 c3, E = e1 e3 (or e3 = ceil(E / e1) with a partial last strip under
HW_ROW_STRIPS_ANY), N = n0 n3, G = g1 g2. A processing pass is one load of the array: m2 m3 c2 c3 e3 n3 g2 of them.

Hardware vector ``hw`` (float64[NHW], HW_* indices): PE count, array rows, spad sizes, GLB words,
bandwidths (words/cycle), the energy per access of each level and the mapping-space and timing options; every
option's 0 is the behaviour before it existed (what eyeriss-hwnasbench uses).

Access counts follow the RS data-movement analysis (Chen et al., ISCA 2016, Sec. VI-A; the same formulas
as DNN-Chip Predictor's Eyeriss model), per data type:
  DRAM  ifmap m3 x |I|, weights e3 n3 x |W|, ofmap (2 c3 - 1) x |O| (psum spills are written and read back)
  GLB   ifmap fills + m2 m3 x |I| reads, psums 2 c3 (c2 - 1) x |O| (+ |O| final writes)
  NoC   ifmap m1 m2 m3 R E/H x |I|, weights e1 e3 n3 x |W|, psums c2 c3 (c1 R - 1) x |O|
  RF    ifmap NoC x m0 S F/W, weights e1 e3 n3 F x |W| ... (each MAC reads its weight and input once and
        reads/writes its psum), psums 2 c1 c2 c3 R (c0 S - 1) x |O| ... approximately 4 accesses per MAC
        (HW_PSUM_PER_MAC: psums counted as a read and a write per MAC instead, as Timeloop counts them).
  With HW_STRIP_HALO every ifmap term is x (H + (e3 - 1)(R - U)) / H: each output-row strip fetches its own
  input rows, the R - U rows neighbouring strips share included.
GLB-to-array networks (JSSC's GIN/GON; used where the spec gives their widths, HW_BW_*_NET > 0): the ifmap net
carries the GLB's ifmap reads (m2 m3 x |I|), the filter net every pass's filters (e3 n3 x |W|, the spads holding
one pass's filters), the psum nets the psums every pass but the first reads in ((c2 c3 - 1) x |O|) and every
pass writes out (c2 c3 x |O|), one bus each way.
Cycles: compute = MACs / (PEs in use), the array being busy every cycle a PE set is loaded (RS keeps all
PEs of a set in lock step); the GLB, NoC and network transfers overlap with compute and bound the layer only
when slower, core = max(compute, GLB/bw, NoC/bw, each net's words / its width), plus, with
HW_FILTER_LOAD_SERIAL, the filter loads (a pass cannot start before its filters are in the spads: the per-pass
ramp-up). DRAM per the spec's overlap mode (OVERLAP_*): none, core + DRAM/bw; all, max(core, DRAM/bw); weights
(the chip), max(core, weights/bw) + fmaps/bw.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# ---- layer vector ---------------------------------------------------------------------------------
L_N, L_G, L_M, L_C, L_E, L_F, L_R, L_S, L_U, L_H, L_W, L_DENSE = range(12)
NLAYER = 12

# ---- mapping vector -------------------------------------------------------------------------------
(MAP_M0, MAP_M1, MAP_M2, MAP_M3, MAP_C0, MAP_C1, MAP_C2, MAP_C3, MAP_E1, MAP_E3, MAP_N0, MAP_N3,
 MAP_G1, MAP_G2) = range(14)
NMAP = 14
MAP_NAMES = ("m0", "m1", "m2", "m3", "c0", "c1", "c2", "c3", "e1", "e3", "n0", "n3", "g1", "g2")

# ---- hardware vector ------------------------------------------------------------------------------
(HW_PES, HW_ROWS, HW_SPAD_IFMAP, HW_SPAD_FILTER, HW_SPAD_PSUM, HW_GLB_WORDS, HW_BW_DRAM, HW_BW_GLB,
 HW_BW_NOC, HW_E_MAC, HW_E_RF, HW_E_NOC, HW_E_GLB, HW_E_DRAM, HW_E_IDLE, HW_MAC_SCALE, HW_RF_SCALE,
 HW_DRAM_ACT_SCALE, HW_DRAM_OVERLAP, HW_COLS, HW_PLACEMENT, HW_PSUM_SPILLS, HW_MIN_E1,
 HW_SPATIAL_GROUPS, HW_PSUM_PER_MAC, HW_BW_IFMAP_NET, HW_BW_FILTER_NET, HW_BW_PSUM_NET,
 HW_FILTER_LOAD_SERIAL, HW_STRIP_HALO, HW_BATCH_SEQUENTIAL, HW_ROW_STRIPS_ANY, HW_IFMAP_PASS_WORDS) = range(33)
NHW = 33
#: HW_PSUM_PER_MAC values: how the psum spad's accesses are counted (`PSUM_COUNT_NAMES`).
PSUM_COUNT_NAMES = ("rs_analysis", "per_mac")
#: HW_DRAM_OVERLAP values: which DRAM transfers run while the array computes.
OVERLAP_NONE = 0     # every DRAM transfer adds to the compute time
OVERLAP_ALL = 1      # double-buffered everything: the slower of compute and DRAM sets the time
OVERLAP_WEIGHTS = 2  # filters are preloaded during the previous pass; ifmap loads and ofmap dumps stall the array
OVERLAP_NAMES = ("none", "all", "weights")
#: HW_PLACEMENT values: how PE sets are placed on the physical array.
PLACEMENT_COUNT = 0   # any set shape fits while the PE count allows (sets folded into strips; DNN-Chip Predictor)
PLACEMENT_STACKED = 1  # a set is R rows x e1 <= cols columns; copies stack along the rows (R x copies <= rows)
PLACEMENT_GRID = 2  # rows hold R x c1 x a, columns e1 x b, with a x b = m1 x g1 (filter/group copies on either axis)
PLACEMENT_NAMES = ("count", "stacked", "grid")

# ---- cost vector (what `mapping_cost` returns) ------------------------------------------------------
(CO_CYCLES, CO_COMPUTE, CO_MACS, CO_PES_USED, CO_A_DRAM, CO_A_GLB, CO_A_NOC, CO_A_RF, CO_E_MAC, CO_E_RF,
 CO_E_NOC, CO_E_GLB, CO_E_DRAM, CO_E_IDLE, CO_ENERGY, CO_LEGAL, CO_GLB_USED, CO_BOUND, CO_PASSES, CO_NET_IFMAP,
 CO_NET_FILTER, CO_NET_PSUM, CO_CORE) = range(23)
NCOST = 23
#: CO_BOUND values: which resource sets the cycle count ("+dram": DRAM transfers add to it).
BOUND_NAMES = ("compute", "dram", "glb", "noc", "compute+dram", "ifmap_net", "filter_net", "psum_net", "glb+dram",
               "noc+dram", "ifmap_net+dram", "filter_net+dram", "psum_net+dram")
#: the "+dram" code of each on-chip bound code
BOUND_PLUS_DRAM = np.array([4, 1, 8, 9, 4, 10, 11, 12, 8, 9, 10, 11, 12], np.int64)

#: CO_LEGAL values: 1 legal, else the first capacity a mapping breaks.
ILLEGAL_NAMES = {0: "factors", -1: "pe_array", -2: "ifmap_spad", -3: "filter_spad", -4: "psum_spad",
                 -5: "glb", -6: "pe_rows", -7: "mapping_space", -8: "ifmap_pass"}

#: Objective codes of `search`: 0 latency, 1 energy, 2 energy-delay product, 3 balanced (DNN-Chip Predictor's
#: "total optimal" rule: energy and latency each offset by their minimum and divided by their maximum over
#: the legal mapping space, then summed).
OBJ_LATENCY, OBJ_ENERGY, OBJ_EDP, OBJ_BALANCED = 0, 1, 2, 3
_OBJ_EXTREMES = -1  # internal: the first pass of OBJ_BALANCED, which only records the extremes


@njit(cache=True)
def check_mapping(shape, mp, hw):
    """1 when `mp` is a legal mapping of `shape` on `hw`, otherwise a negative code (ILLEGAL_NAMES)."""
    N, G, M, C, E = shape[L_N], shape[L_G], shape[L_M], shape[L_C], shape[L_E]
    R, S = shape[L_R], shape[L_S]
    for i in range(NMAP):
        if mp[i] < 1:
            return 0
    if mp[MAP_M0] * mp[MAP_M1] * mp[MAP_M2] * mp[MAP_M3] != M:
        return 0
    if mp[MAP_C0] * mp[MAP_C1] * mp[MAP_C2] * mp[MAP_C3] != C:
        return 0
    if mp[MAP_E3] != _strips(E, mp[MAP_E1], hw) or mp[MAP_N0] * mp[MAP_N3] != N or mp[MAP_G1] * mp[MAP_G2] != G:
        return 0
    if R > hw[HW_ROWS]:
        return -6
    if ((hw[HW_PSUM_SPILLS] == 0 and mp[MAP_C3] > 1) or mp[MAP_E1] < min(hw[HW_MIN_E1], E)
            or (hw[HW_SPATIAL_GROUPS] == 0 and mp[MAP_G1] > 1)):
        return -7
    if not _sets_fit(R, mp[MAP_E1], mp[MAP_C1], mp[MAP_M1] * mp[MAP_G1], hw):
        return -1
    n_spad = _spad_images(mp[MAP_N0], hw)
    if n_spad * mp[MAP_C0] * S > hw[HW_SPAD_IFMAP]:
        return -2
    if mp[MAP_M0] * mp[MAP_C0] * S > hw[HW_SPAD_FILTER]:
        return -3
    if mp[MAP_M0] * n_spad > hw[HW_SPAD_PSUM]:
        return -4
    if glb_words(shape, mp) > hw[HW_GLB_WORDS]:
        return -5
    if not _ifmap_pass_fits(mp[MAP_G1] * mp[MAP_C0] * mp[MAP_C1], (mp[MAP_E1] - 1) * shape[L_U] + R,
                            (shape[L_F] - 1) * shape[L_U] + S, hw):
        return -8
    return 1


@njit(cache=True, inline="always")
def _ifmap_pass_fits(channels, in_rows, in_cols, hw):
    """Whether one image's ifmap rows of a pass (`channels` channels of in_rows x in_cols) fit the spec's ifmap
    pass limit (HW_IFMAP_PASS_WORDS, 0 = none); one channel always may, however long its rows. Monotone in the
    channels and the rows."""
    limit = hw[HW_IFMAP_PASS_WORDS]
    return limit == 0 or channels == 1 or channels * in_rows * in_cols <= limit


@njit(cache=True, inline="always")
def _strips(E, e1, hw):
    """Output-row strips of e1 rows: E / e1 when e1 must divide E, else ceil(E / e1) with a partial last strip
    (HW_ROW_STRIPS_ANY: the chip strip-mines a set to the array's width, JSSC Table III's 11 x 7 strips of 55 rows);
    0 when e1 does not divide E and only divisors are allowed."""
    if hw[HW_ROW_STRIPS_ANY] != 0:
        return (E + e1 - 1) // e1
    return E // e1 if E % e1 == 0 else 0


@njit(cache=True, inline="always")
def _spad_images(n0, hw):
    """Images whose ifmap rows and psums share the spads at once: all n0 interleaved ones, or one when the n0 images
    of a pass run one after another through the PE with its filters held (HW_BATCH_SEQUENTIAL)."""
    return 1 if hw[HW_BATCH_SEQUENTIAL] != 0 else n0


@njit(cache=True, inline="always")
def _sets_fit(R, e1, c1, mg, hw):
    """Whether c1 x mg logical PE sets of R x e1 fit the physical array (c1 channel copies; mg = m1 g1
    filter and group copies). Monotone in e1 and c1 for every placement; in mg only under ``count`` and
    ``stacked`` (under ``grid`` 10 copies may not split over the array where 12 do), so the search ends a
    loop over m1 or g1 only at `_pes_fit`, which is monotone everywhere."""
    if hw[HW_PLACEMENT] == PLACEMENT_STACKED:
        return e1 <= hw[HW_COLS] and R * c1 * mg <= hw[HW_ROWS]
    if hw[HW_PLACEMENT] == PLACEMENT_GRID:
        row_room = hw[HW_ROWS] // (R * c1)
        col_room = hw[HW_COLS] // e1
        for a in range(1, min(mg, row_room) + 1):
            if mg % a == 0 and mg // a <= col_room:
                return True
        return False
    return R * e1 * c1 * mg <= hw[HW_PES]


@njit(cache=True, inline="always")
def _pes_fit(R, e1, c1, mg, hw):
    """The PE count alone: necessary for `_sets_fit` under every placement and monotone in every factor."""
    return R * e1 * c1 * mg <= hw[HW_PES]


@njit(cache=True)
def glb_words(shape, mp):
    """GLB words a mapping keeps resident: the ifmap tile of one channel pass (c0 c1 channels of the
    e1 output rows' input rows, n0 images, g1 groups) plus the psums of all m0 m1 m2 filters."""
    F, R, S, U = shape[L_F], shape[L_R], shape[L_S], shape[L_U]
    in_rows = (mp[MAP_E1] - 1) * U + R
    in_cols = (F - 1) * U + S
    ifmap = mp[MAP_N0] * mp[MAP_G1] * mp[MAP_C0] * mp[MAP_C1] * in_rows * in_cols
    psum = mp[MAP_N0] * mp[MAP_G1] * mp[MAP_M0] * mp[MAP_M1] * mp[MAP_M2] * mp[MAP_E1] * F
    return ifmap + psum


@njit(cache=True, inline="always")
def _psum_spad_accesses(macs, n_o, c3, c2, c1, c0, R, S, hw):
    """Psum spad reads + writes. ``rs_analysis`` (ISCA 2016 Sec. VI-A, DNN-Chip Predictor): each PE pass
    accumulates c0 x S products per output with 2 (c0 S - 1) accesses, at least one per output; ``per_mac``
    (Timeloop / AccelForge's count of an accumulating buffer): a read and a write for every MAC."""
    if hw[HW_PSUM_PER_MAC] == 1:
        return 2.0 * macs
    return max(2.0 * c3 * c2 * c1 * R * (c0 * S - 1.0), 1.0) * n_o


@njit(cache=True, inline="always")
def _add_dram(core, d_w, dram_act, hw):
    """Cycles once the DRAM transfers (weights d_w, activations dram_act, in words) join the on-chip pace
    `core` per the spec's overlap mode (OVERLAP_*), and whether DRAM sets or adds to them."""
    bw = hw[HW_BW_DRAM]
    if hw[HW_DRAM_OVERLAP] == OVERLAP_ALL:
        t = (dram_act + d_w) / bw
        return max(core, t), t > core
    if hw[HW_DRAM_OVERLAP] == OVERLAP_WEIGHTS:
        return max(core, d_w / bw) + dram_act / bw, True
    return core + (dram_act + d_w) / bw, True


@njit(cache=True, inline="always")
def _tile_terms(shape, hw, m0, m1, m2, m3, c0, c1, e1, e3, n3, g1):
    """The words of a mapping that do not depend on its channel passes (c2, c3): (macs, pes, compute cycles, dram
    ifmap, dram weights (= the filter net's words), GLB ifmap words, NoC ifmap + weight words, RF ifmap + weight words, ifmap net, serial filter
    load cycles, |O|, psum NoC words per channel pass / |O|, and c0, c1, R, S for the psum spad count); the filter
    net carries the dram weights' words. The search computes them once
    for all the channel splits of a tile (`_pass_terms` adds those)."""
    N, G, M, C, E = shape[L_N], shape[L_G], shape[L_M], shape[L_C], shape[L_E]
    F, R, S, U, H, W = shape[L_F], shape[L_R], shape[L_S], shape[L_U], shape[L_H], shape[L_W]
    n_i = float(N * G * C * H * W)
    n_w = float(G * M * C * R * S)
    n_o = float(N * G * M * E * F)
    macs = float(N * G * M * C * E * F * R * S)
    pes = float(R * e1 * m1 * c1 * g1)
    # e1 e3 >= E rows: the PEs of the rows a partial last strip lacks idle through it
    compute = float(N * G * M * C * e1 * e3 * F * R * S) / pes
    # Each output-row strip reads its own input rows (HW_STRIP_HALO): neighbouring strips of an R-row filter at
    # stride U share R - U rows, which travel once per strip; otherwise the input span travels once.
    rows_moved = H + (e3 - 1) * (R - U) if hw[HW_STRIP_HALO] != 0 else H
    n_i_moved = float(N * G * C * rows_moved * W)
    # DRAM: ifmap once per m3 pass, weights once per output strip and image group (psum spills: `_pass_terms`).
    d_i = m3 * n_i_moved
    d_w = e3 * n3 * n_w
    # GLB: ifmap written once per DRAM fetch and read once per m2 pass (the reads cross the ifmap net).
    ifmap_net = m3 * m2 * n_i_moved
    # NoC: ifmap rows multicast to the R diagonals of each set copy, weights to e1 PEs.
    a_i = m3 * m2 * m1 * R * (E / H) * n_i
    # RF: each MAC reads its ifmap and weight from the spads; images interleaved in the spads (n0) share one weight
    # read, images run one after another (HW_BATCH_SEQUENTIAL) read it each.
    w_reads = e3 * e1 * (N if hw[HW_BATCH_SEQUENTIAL] != 0 else n3) * F * n_w
    # every pass loads its filters (e3 n3 passes over all the weights); serial loads hold the array meanwhile
    filter_load = d_w / hw[HW_BW_FILTER_NET] if hw[HW_FILTER_LOAD_SERIAL] != 0 else 0.0
    return (macs, pes, compute, d_i, d_w, d_i + ifmap_net, a_i + e3 * e1 * n3 * n_w, a_i * m0 * S * (F / W) + w_reads,
            ifmap_net, filter_load, n_o, c1 * R - 1.0, c0, c1, R, S)


@njit(cache=True, inline="always")
def _pass_terms(tile, c2, c3, hw):
    """`_tile_terms` plus the psum traffic of c2 GLB and c3 DRAM passes over the channels: (macs, pes, compute, dram
    ifmap, dram weights, dram ofmap, glb, noc, rf, ifmap net, serial filter load cycles, psum-in net, psum-out net)."""
    macs, pes, compute, d_i, d_w, glb_i, noc_iw, rf_iw, ifmap_net, filter_load, n_o, noc_o, c0, c1, R, S = tile
    # DRAM: psum spills are written and read back; GLB: psums read+written per c2 pass; NoC: psums up the rows.
    d_o = (2.0 * c3 - 1.0) * n_o
    glb = glb_i + 2.0 * c3 * (c2 - 1.0) * n_o + n_o
    noc = noc_iw + max(c3 * c2 * noc_o, 1.0) * n_o
    rf = rf_iw + _psum_spad_accesses(macs, n_o, c3, c2, c1, c0, R, S, hw)
    # the psum nets: every pass but the first reads its psums in, every pass writes its own out
    passes_c = c3 * c2
    return (macs, pes, compute, d_i, d_w, d_o, glb, noc, rf, ifmap_net, filter_load, (passes_c - 1.0) * n_o,
            passes_c * n_o)


@njit(cache=True, inline="always")
def _core_cycles(compute, glb, noc, ifmap_net, filter_net, filter_load, psum_in, psum_out, hw):
    """The array's cycles before DRAM joins: the slowest of compute, the GLB and NoC totals and, where the spec
    gives them (HW_BW_*_NET > 0), each GLB-to-array network; plus `filter_load`, the cycles of the filter loads when
    a pass cannot start computing before its filters are in the spads (HW_FILTER_LOAD_SERIAL, else 0). Returns (cycles, bound
    code: 0 compute, 2 glb, 3 noc, 5 ifmap_net, 6 filter_net, 7 psum_net)."""
    cycles = compute
    bound = 0
    if glb / hw[HW_BW_GLB] > cycles:
        cycles = glb / hw[HW_BW_GLB]
        bound = 2
    if noc / hw[HW_BW_NOC] > cycles:
        cycles = noc / hw[HW_BW_NOC]
        bound = 3
    # (a division only where a net wins: the comparisons multiply)
    bw = hw[HW_BW_IFMAP_NET]
    if bw > 0 and ifmap_net > cycles * bw:
        cycles = ifmap_net / bw
        bound = 5
    bw = hw[HW_BW_FILTER_NET]
    if bw > 0 and filter_load == 0 and filter_net > cycles * bw:
        cycles = filter_net / bw
        bound = 6
    bw = hw[HW_BW_PSUM_NET]
    if bw > 0 and max(psum_in, psum_out) > cycles * bw:
        cycles = max(psum_in, psum_out) / bw
        bound = 7
    return cycles + filter_load, bound


@njit(cache=True)
def mapping_cost(shape, mp, hw, out):
    """Fill `out` (float64[NCOST]) with the cycles, accesses and energy of mapping `mp`."""
    for i in range(NCOST):
        out[i] = 0.0
    legal = check_mapping(shape, mp, hw)
    out[CO_LEGAL] = legal
    if legal != 1:
        return
    tile = _tile_terms(shape, hw, mp[MAP_M0], mp[MAP_M1], mp[MAP_M2], mp[MAP_M3], mp[MAP_C0], mp[MAP_C1],
                       mp[MAP_E1], mp[MAP_E3], mp[MAP_N3], mp[MAP_G1])
    macs, pes, compute, d_i, d_w, d_o, glb, noc, rf, ifmap_net, filter_load, psum_in, psum_out = _pass_terms(
        tile, mp[MAP_C2], mp[MAP_C3], hw)
    dram_act = (d_i + d_o) * hw[HW_DRAM_ACT_SCALE]
    dram = dram_act + d_w
    # The slowest of compute and the on-chip transfers sets the pace; DRAM transfers overlap with it or add to it
    # as the spec says (an additive DRAM share turns bound code b into its "+dram" name, BOUND_PLUS_DRAM).
    core, bound = _core_cycles(compute, glb, noc, ifmap_net, d_w, filter_load, psum_in, psum_out, hw)
    cycles, dram_bound = _add_dram(core, d_w, dram_act, hw)
    if dram_bound:
        bound = 1 if hw[HW_DRAM_OVERLAP] == OVERLAP_ALL else BOUND_PLUS_DRAM[bound]

    dense = shape[L_DENSE]
    out[CO_CYCLES] = cycles
    out[CO_COMPUTE] = compute
    out[CO_MACS] = macs
    out[CO_PES_USED] = pes
    out[CO_A_DRAM] = dram
    out[CO_A_GLB] = glb
    out[CO_A_NOC] = noc
    out[CO_A_RF] = rf
    out[CO_E_MAC] = macs * hw[HW_E_MAC] * hw[HW_MAC_SCALE] * dense
    out[CO_E_RF] = rf * hw[HW_E_RF] * hw[HW_RF_SCALE]
    out[CO_E_NOC] = noc * hw[HW_E_NOC]
    out[CO_E_GLB] = glb * hw[HW_E_GLB]
    out[CO_E_DRAM] = dram * hw[HW_E_DRAM]
    out[CO_E_IDLE] = cycles * hw[HW_E_IDLE]
    out[CO_ENERGY] = (out[CO_E_MAC] + out[CO_E_RF] + out[CO_E_NOC] + out[CO_E_GLB] + out[CO_E_DRAM]
                      + out[CO_E_IDLE])
    out[CO_GLB_USED] = glb_words(shape, mp)
    out[CO_BOUND] = bound
    out[CO_PASSES] = (mp[MAP_M2] * mp[MAP_M3] * mp[MAP_C2] * mp[MAP_C3] * mp[MAP_E3] * mp[MAP_N3]
                      * (shape[L_G] // mp[MAP_G1]))
    out[CO_NET_IFMAP] = ifmap_net
    out[CO_NET_FILTER] = d_w
    out[CO_NET_PSUM] = psum_in + psum_out
    out[CO_CORE] = core


@njit(cache=True)
def _divisors(n):
    """The divisors of n in increasing order, in O(sqrt n): the pairs d, n // d for d up to sqrt(n)."""
    small = np.empty(64, np.int64)
    large = np.empty(64, np.int64)
    ns = 0
    nl = 0
    d = 1
    while d * d <= n:
        if n % d == 0:
            if ns == small.shape[0]:
                small = np.concatenate((small, np.empty(ns, np.int64)))
                large = np.concatenate((large, np.empty(ns, np.int64)))
            small[ns] = d
            ns += 1
            if d * d != n:
                large[nl] = n // d
                nl += 1
        d += 1
    out = np.empty(ns + nl, np.int64)
    out[:ns] = small[:ns]
    for i in range(nl):
        out[ns + i] = large[nl - 1 - i]
    return out


@njit(cache=True)
def _better(objective, cycles, energy, best_cycles, best_energy, ext):
    """Objective 0 latency (ties: energy), 1 energy (ties: latency), 2 energy-delay product, 3 balanced
    (`ext` = min cycles, max cycles, min energy, max energy over the space; ties: latency)."""
    if objective == OBJ_LATENCY:
        return cycles < best_cycles * (1 - 1e-12) or (cycles <= best_cycles * (1 + 1e-12) and energy < best_energy)
    if objective == OBJ_ENERGY:
        return energy < best_energy * (1 - 1e-12) or (energy <= best_energy * (1 + 1e-12) and cycles < best_cycles)
    if objective == OBJ_BALANCED:
        if best_cycles == np.inf:
            return True
        score = (cycles - ext[0]) / ext[1] + (energy - ext[2]) / ext[3]
        best = (best_cycles - ext[0]) / ext[1] + (best_energy - ext[2]) / ext[3]
        return score < best - 1e-12 or (score <= best + 1e-12 and cycles < best_cycles)
    return cycles * energy < best_cycles * best_energy


@njit(cache=True, inline="always")
def _cycles_energy(shape, hw, m0, m1, m2, m3, c0, c1, c2, c3, e1, e3, n3, g1):
    """(cycles, energy) of a mapping the search already knows to be legal: `mapping_cost`'s arithmetic without the
    bookkeeping (tests compare the two)."""
    return _pass_cycles_energy(_tile_terms(shape, hw, m0, m1, m2, m3, c0, c1, e1, e3, n3, g1), c2, c3, shape, hw)


@njit(cache=True, inline="always")
def _pass_cycles_energy(tile, c2, c3, shape, hw):
    """(cycles, energy) from a tile's `_tile_terms` and its channel passes: the same `_pass_terms`, `_core_cycles`
    and `_add_dram` as `mapping_cost`."""
    macs, pes, compute, d_i, d_w, d_o, glb, noc, rf, ifmap_net, filter_load, psum_in, psum_out = _pass_terms(tile, c2, c3, hw)
    dram_act = (d_i + d_o) * hw[HW_DRAM_ACT_SCALE]
    core, _ = _core_cycles(compute, glb, noc, ifmap_net, d_w, filter_load, psum_in, psum_out, hw)
    cycles, _ = _add_dram(core, d_w, dram_act, hw)
    energy = (macs * hw[HW_E_MAC] * hw[HW_MAC_SCALE] * shape[L_DENSE] + rf * hw[HW_E_RF] * hw[HW_RF_SCALE]
              + noc * hw[HW_E_NOC] + glb * hw[HW_E_GLB] + (dram_act + d_w) * hw[HW_E_DRAM] + cycles * hw[HW_E_IDLE])
    return cycles, energy


@njit(cache=True)
def search(shape, hw, objective):
    """Exhaustive search of the RS mapping space of `shape` on `hw` for `objective` (OBJ_* codes).

    Returns (best mapping int64[NMAP], its cost float64[NCOST], mappings evaluated, binding capacity code).
    OBJ_BALANCED needs the extremes of latency and energy over the whole legal space first, so it makes two
    passes (the count covers both).
    """
    ext = np.zeros(4)
    if objective == OBJ_BALANCED:
        _, _, first, binding = _search(shape, hw, _OBJ_EXTREMES, ext)
        if first == 0:
            return np.zeros(NMAP, np.int64), np.zeros(NCOST), 0, binding
        for i in (1, 3):  # all-zero energies (or cycles) leave that term out instead of dividing by zero
            if ext[i] <= 0.0:
                ext[i] = 1.0
        best, cost, second, binding = _search(shape, hw, OBJ_BALANCED, ext)
        return best, cost, first + second, binding
    return _search(shape, hw, objective, ext)


@njit(cache=True)
def _search(shape, hw, objective, ext):
    """The exhaustive search behind `search`; with _OBJ_EXTREMES it only fills `ext` (min/max cycles,
    min/max energy over the legal space) and returns no mapping.

    Returns (best mapping int64[NMAP], its cost float64[NCOST], mappings evaluated, binding capacity code).
    The best mapping has m0 = 0 when no legal mapping exists; the code then names the capacity that
    excluded the most constrained candidate (see ILLEGAL_NAMES).

    Pruning (it never removes a legal mapping, so the optimum is kept): every capacity test is monotone
    in the factor that a loop level grows -- PEs in use grow with m1, c1, e1, g1; spad words with m0, c0,
    n0; GLB words with every factor it contains -- and each loop runs over divisors in increasing order,
    so the first factor that breaks a capacity ends that loop: every larger divisor breaks it too, with
    all inner factors unchanged or larger. The spec's mapping-space limits (no psum spills to DRAM, a
    minimum set width e1) skip the mappings they exclude without ending a loop. Only illegal mappings are
    skipped; all legal ones are costed.
    """
    N, G, M, C, E = shape[L_N], shape[L_G], shape[L_M], shape[L_C], shape[L_E]
    F, R, S, U = shape[L_F], shape[L_R], shape[L_S], shape[L_U]
    best = np.zeros(NMAP, np.int64)
    best_cost = np.zeros(NCOST)
    best_cycles = np.inf
    best_energy = np.inf
    evaluated = 0
    binding = 0
    if objective == _OBJ_EXTREMES:
        ext[0] = np.inf
        ext[1] = 0.0
        ext[2] = np.inf
        ext[3] = 0.0
    min_e1 = min(hw[HW_MIN_E1], E)
    if R > hw[HW_ROWS]:
        return best, best_cost, evaluated, -6
    dM = _divisors(M)
    dC = _divisors(C)
    dE = _divisors(E) if hw[HW_ROW_STRIPS_ANY] == 0 else np.arange(1, E + 1)
    dN = _divisors(N)
    dG = _divisors(G)
    in_cols = (F - 1) * U + S
    for n0 in dN:
        n_spad = _spad_images(n0, hw)
        if n_spad * S > hw[HW_SPAD_IFMAP]:
            binding = -2
            break
        for m0 in dM:
            if m0 * n_spad > hw[HW_SPAD_PSUM]:
                if binding == 0:
                    binding = -4
                break
            if m0 * S > hw[HW_SPAD_FILTER]:
                if binding == 0:
                    binding = -3
                break
            for c0 in dC:
                if n_spad * c0 * S > hw[HW_SPAD_IFMAP] or m0 * c0 * S > hw[HW_SPAD_FILTER]:
                    break
                for e1 in dE:
                    if e1 < min_e1:
                        continue
                    if not _sets_fit(R, e1, 1, 1, hw):
                        if binding == 0:
                            binding = -1
                        break
                    in_rows = (e1 - 1) * U + R
                    e3 = _strips(E, e1, hw)
                    for g1 in dG:
                        if g1 > 1 and hw[HW_SPATIAL_GROUPS] == 0:
                            break
                        if not _pes_fit(R, e1, 1, g1, hw):
                            break
                        if not _sets_fit(R, e1, 1, g1, hw):
                            continue
                        for c1 in dC:
                            if (C // c0) % c1 != 0:
                                continue
                            if not _sets_fit(R, e1, c1, g1, hw):  # larger c1, and any m1 copies, fail too
                                break
                            ifmap_words = n0 * g1 * c0 * c1 * in_rows * in_cols
                            if not _ifmap_pass_fits(g1 * c0 * c1, in_rows, in_cols, hw):  # larger c1 fail too
                                if binding == 0:
                                    binding = -8
                                break
                            if ifmap_words + n0 * g1 * m0 * e1 * F > hw[HW_GLB_WORDS]:
                                if binding == 0:
                                    binding = -5
                                break
                            for m1 in dM:
                                if (M // m0) % m1 != 0:
                                    continue
                                if not _pes_fit(R, e1, c1, g1 * m1, hw):
                                    break
                                if not _sets_fit(R, e1, c1, g1 * m1, hw):
                                    continue
                                for m2 in dM:
                                    if (M // (m0 * m1)) % m2 != 0:
                                        continue
                                    if ifmap_words + n0 * g1 * m0 * m1 * m2 * e1 * F > hw[HW_GLB_WORDS]:
                                        break
                                    m3 = M // (m0 * m1 * m2)
                                    tile = _tile_terms(shape, hw, m0, m1, m2, m3, c0, c1, e1, e3, N // n0, g1)
                                    for c2 in dC:
                                        if (C // (c0 * c1)) % c2 != 0:
                                            continue
                                        c3 = C // (c0 * c1 * c2)
                                        if c3 > 1 and hw[HW_PSUM_SPILLS] == 0:
                                            continue
                                        cycles, energy = _pass_cycles_energy(tile, c2, c3, shape, hw)
                                        evaluated += 1
                                        if objective == _OBJ_EXTREMES:
                                            ext[0] = min(ext[0], cycles)
                                            ext[1] = max(ext[1], cycles)
                                            ext[2] = min(ext[2], energy)
                                            ext[3] = max(ext[3], energy)
                                            continue
                                        if _better(objective, cycles, energy, best_cycles, best_energy, ext):
                                            best_cycles = cycles
                                            best_energy = energy
                                            best[MAP_M0] = m0
                                            best[MAP_M1] = m1
                                            best[MAP_M2] = m2
                                            best[MAP_M3] = m3
                                            best[MAP_C0] = c0
                                            best[MAP_C1] = c1
                                            best[MAP_C2] = c2
                                            best[MAP_C3] = c3
                                            best[MAP_E1] = e1
                                            best[MAP_E3] = e3
                                            best[MAP_N0] = n0
                                            best[MAP_N3] = N // n0
                                            best[MAP_G1] = g1
                                            best[MAP_G2] = G // g1
    if best[MAP_M0] > 0:
        mapping_cost(shape, best, hw, best_cost)
    return best, best_cost, evaluated, binding
