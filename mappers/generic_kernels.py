"""Numba kernels of the generic-paradigm mapper (see mappers/generic.py for the model and its conventions).

Everything here takes arrays and scalars. A layer is a float64 vector indexed by the ``L_*`` constants; a
mapping search returns a record array indexed by the ``F_*`` constants, one record per
(register-file size, local-memory size, bandwidth) cell so that one pass over the mapping space answers a
whole grid of memory/bandwidth configurations (used by `accelmodel.search`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# ---- layer vector ------------------------------------------------------------------------------
#: L_R, L_S count kernel taps (MACs, weights); L_RX, L_SX are the input rows / columns a window spans
#: (dilation * (kernel - 1) + 1: the same as R, S for an undilated kernel), which set tile halos.
L_N, L_K, L_CG, L_P, L_Q, L_R, L_S, L_SH, L_SW, L_PH, L_PW, L_H, L_W, L_G, L_KG, L_RX, L_SX = range(17)
LAYER_FIELDS = 17

# ---- loop orders (outer -> inner, after the batch loop n which is always outermost) ---------------
#: 0 weight-stationary [k, c, pq]; 1 output-stationary [k, pq, c]; 2 input-stationary [c, pq, k]
ORDER_NAMES = ("weight_stationary", "output_stationary", "input_stationary")
#: lane split: 0 = lanes of a PE take different output channels, 1 = different output pixels
LANE_SPLITS = ("K", "P")


# ---- search record -----------------------------------------------------------------------------
F_OBJ, F_LAT, F_ENE, F_TK, F_TC, F_TP, F_TQ, F_ORDER, F_PK, F_PP, F_LANE = range(11)
NF = 11

# ---- detailed metrics of one mapping -----------------------------------------------------------
(M_CYCLES, M_COMPUTE, M_STEPS, M_NEED, M_MACS, M_DRAM_BYTES, M_GLB_BYTES, M_RF_BYTES, M_DRAM_WORDS,
 M_GLB_WORDS, M_RF_WORDS, M_E_MAC, M_E_RF, M_E_GLB, M_E_DRAM, M_STALL, M_RQ) = range(17)
NM = 17

OBJ_LATENCY, OBJ_ENERGY, OBJ_EDP = 0, 1, 2


@njit(cache=True)
def _trip_allowed(n, D, pow2):
    """Trip counts of the mapspace: every n (exhaustive) or 1, 2, 4, ... and D itself (pow2)."""
    return (not pow2) or n == D or (n & (n - 1)) == 0


@njit(cache=True)
def tile_candidates(D, pow2):
    """The smallest tile of every allowed trip count, ascending (t = ceil(D / n)). Not the search space itself:
    `search_layer` keeps every tile that no smaller tile of the same trip count dominates (see generic.py)."""
    out = np.empty(D, np.int64)
    m = 0
    last = -1
    for t in range(1, D + 1):
        n = _cdiv(D, t)
        if n != last and _trip_allowed(n, D, pow2):
            out[m] = t
            m += 1
        last = n
    return out[:m].copy()


@njit(cache=True)
def _ceil_pair(n, t, last, scale, u):
    """(n - 1) full tiles and one last tile, each costing ceil(tile x scale / u)."""
    return (n - 1) * _cdiv(t * scale, u) + _cdiv(last * scale, u)


@njit(cache=True)
def channel_candidates(D, scale, u, kg, grouped, pow2, split, share):
    """Tile sizes of an output-channel (scale 1, u = channels per PE-lane-SIMD step) or input-channel (scale R*S,
    u = SIMD ways) dimension, ascending. Within one trip count n, a tile t is dropped when a smaller tile t' of
    the same n has no larger compute sum (n-1)*ceil(t*scale/u) + ceil(last*scale/u), for a grouped output
    channel dimension no more input channel groups touched and, with ``split`` > 0 (output channels over
    `split` lanes, energy objectives), no more lane passes of ``share`` SIMD units (input operand reads).
    Everything else the cost depends on is the trip count or grows with the tile (buffer need), so t' is at
    least as good under every objective."""
    out = np.empty(D, np.int64)
    comp = np.empty(D, np.int64)
    grp = np.empty(D, np.int64)
    passes = np.empty(D, np.int64)
    m = 0
    class_start = 0
    prev_n = -1
    for t in range(1, D + 1):
        n = _cdiv(D, t)
        if not _trip_allowed(n, D, pow2):
            continue
        if n != prev_n:
            class_start = m
            prev_n = n
        last = D - (n - 1) * t
        c = _ceil_pair(n, t, last, scale, u)
        g = (n - 1) * _cdiv(t, kg) + _cdiv(last, kg) if grouped else 0
        ps = (n - 1) * _lane_passes(t, split, share) + _lane_passes(last, split, share) if split > 0 else 0
        dominated = False
        for j in range(class_start, m):
            if comp[j] <= c and grp[j] <= g and passes[j] <= ps:
                dominated = True
                break
        if not dominated:
            out[m] = t
            comp[m] = c
            grp[m] = g
            passes[m] = ps
            m += 1
    return out[:m].copy()


@njit(cache=True)
def pixel_candidates(D, pp, lp, stride, pad, k, size, other, rq_cap, pow2, is_rows):
    """Tile sizes of an output-row (is_rows, split over pp PEs) or output-column dimension, ascending.

    The compute of a pixel tile is ceil(rows_per_PE x cols / lp) summed over tiles, which couples rows and
    columns, so a smaller tile t' of the same trip count dominates t only if, for every possible tile x of the
    other dimension (1..other), its summed compute is no larger; its input span (halo traffic) must be no
    larger too. With `rq_cap` > 0 (energy objectives: register-file reuse is min(pixels per lane, the largest
    reuse any register file of the grid allows) = min(ceil(rows_per_PE x cols / lp), rq_cap)), t' must also give
    no smaller capped per-lane pixel count than t for every x."""
    out = np.empty(D, np.int64)
    rows = np.empty(D, np.int64)
    m = 0
    class_start = 0
    prev_n = -1
    for t in range(1, D + 1):
        n = _cdiv(D, t)
        if not _trip_allowed(n, D, pow2):
            continue
        if n != prev_n:
            class_start = m
            prev_n = n
        last = D - (n - 1) * t
        span = _span_sum(D, t, stride, pad, k, size)
        dominated = False
        for j in range(class_start, m):
            t2 = out[j]
            if rows[j] > span:
                continue
            last2 = D - (n - 1) * t2
            ok = True
            for x in range(1, other + 1):
                if is_rows:
                    a, b, a2, b2, y = _cdiv(t, pp), _cdiv(last, pp), _cdiv(t2, pp), _cdiv(last2, pp), x
                else:
                    a, b, a2, b2, y = t, last, t2, last2, _cdiv(x, pp)
                mine = (n - 1) * _cdiv(a * y, lp) + _cdiv(b * y, lp)
                theirs = (n - 1) * _cdiv(a2 * y, lp) + _cdiv(b2 * y, lp)
                if theirs > mine or (rq_cap > 0 and min(_cdiv(a2 * y, lp), rq_cap) < min(_cdiv(a * y, lp), rq_cap)):
                    ok = False
                    break
                if lp == 1 and rq_cap <= 0:
                    break  # linear in y: one x decides
            if ok:
                dominated = True
                break
        if not dominated:
            out[m] = t
            rows[m] = span
            m += 1
    return out[:m].copy()


@njit(cache=True)
def _span(o0, t, s, pad, k, size):
    """Input rows (or columns) needed for output rows o0..o0+t-1, clipped to the unpadded input."""
    lo = o0 * s - pad
    hi = (o0 + t - 1) * s - pad + k - 1
    if lo < 0:
        lo = 0
    if hi > size - 1:
        hi = size - 1
    return max(0, hi - lo + 1)


@njit(cache=True)
def _span_sum(D, t, s, pad, k, size):
    tot = 0
    o0 = 0
    while o0 < D:
        tt = min(t, D - o0)
        tot += _span(o0, tt, s, pad, k, size)
        o0 += t
    return tot


@njit(cache=True)
def _span_max(t, s, k, size):
    return min(size, (t - 1) * s + k)


@njit(cache=True)
def _cdiv(a, b):
    return (a + b - 1) // b


@njit(cache=True)
def _ceil_sum(D, t, u):
    """Sum over the tiles of a dimension D tiled by t of ceil(tile / u)."""
    n = _cdiv(D, t)
    last = D - (n - 1) * t
    return (n - 1) * _cdiv(t, u) + _cdiv(last, u)


@njit(cache=True)
def _lane_passes(t, split, b):
    """Passes of b SIMD units over a K tile of t channels spread over `split` lanes (ceil(t / split) channels
    each, the last lane the rest): a lane reads each input word once per pass, broadcast to the pass's units."""
    c = _cdiv(t, split)
    full = t // c
    rem = t - full * c
    return full * _cdiv(c, b) + (_cdiv(rem, b) if rem > 0 else 0)


@njit(cache=True)
def _input_reads(K, tk, split, b, macs):
    """Input operand reads from local memory: per output channel's MACs (macs / K), one read per lane pass,
    summed over the K tiles; b = min(simd_units, K / groups) units can share an input word. A tile with fewer
    channels per lane than SIMD units shares it among fewer units."""
    n = _cdiv(K, tk)
    last = K - (n - 1) * tk
    return macs / K * ((n - 1) * _lane_passes(tk, split, b) + _lane_passes(last, split, b))


@njit(cache=True)
def _pix_sum(P, tp, Q, tq, pp, lp):
    """Sum over pixel tiles of the per-lane pixel count: rows split over pp PEs, pixels over lp lanes."""
    n_p = _cdiv(P, tp)
    n_q = _cdiv(Q, tq)
    lastp = P - (n_p - 1) * tp
    lastq = Q - (n_q - 1) * tq
    a = _cdiv(tp, pp)
    b = _cdiv(lastp, pp)
    return ((n_p - 1) * (n_q - 1) * _cdiv(a * tq, lp) + (n_p - 1) * _cdiv(a * lastq, lp)
            + (n_q - 1) * _cdiv(b * tq, lp) + _cdiv(b * lastq, lp))


@njit(cache=True)
def _groups_in(t, kg, g):
    """Channel groups touched by a tile of t output channels (grouped convolution)."""
    if g == 1:
        return 1
    x = _cdiv(t, kg)
    if x < 1:
        x = 1
    if x > g:
        x = g
    return x


@njit(cache=True)
def buffer_need(L, tk, tc, tp, tq, pk, pp, wb, pb):
    """Bytes of one PE's local memory for a double-buffered tile (weights, inputs, partial sums)."""
    R = int(L[L_R]); S = int(L[L_S]); G = int(L[L_G]); KG = int(L[L_KG])
    tk_pe = _cdiv(tk, pk)
    tp_pe = _cdiv(tp, pp)
    in_ch_pe = _groups_in(tk_pe, KG, G) * tc
    w = tk_pe * tc * R * S
    i = (in_ch_pe * _span_max(tp_pe, int(L[L_SH]), int(L[L_RX]), int(L[L_H]))
         * _span_max(tq, int(L[L_SW]), int(L[L_SX]), int(L[L_W])))
    o = tk_pe * tp_pe * tq
    return 2.0 * (w + i) * wb + 2.0 * o * pb


#: relevance of the loop at each position (after n) per order and operand: 1 relevant, 2 relevant only for
#: grouped convolution (inputs depend on the output-channel tile when groups > 1), 0 not relevant.
#: operands: 0 weights {k, c}; 1 inputs {n, c, pq}; 2 outputs {n, k, pq}
_REL = np.array([
    [[1, 1, 0], [2, 1, 1], [1, 0, 1]],   # weight-stationary  k, c, pq
    [[1, 0, 1], [2, 1, 1], [1, 1, 0]],   # output-stationary  k, pq, c
    [[1, 0, 1], [1, 1, 2], [0, 1, 1]],   # input-stationary   c, pq, k
], dtype=np.int64)  # [order, operand, position 1..3]


@njit(cache=True)
def _order_trips(order, nk, nc, npq):
    if order == 0:
        return nk, nc, npq
    if order == 1:
        return nk, npq, nc
    return nc, npq, nk


@njit(cache=True)
def _innermost_changing(order, operand, grouped, t0, t1, t2, t3):
    """Position (0 = batch loop, 1..3 = tile loops) of the innermost loop that is relevant to the operand and
    has more than one trip; -1 when none (the operand is loaded once)."""
    trips = (t1, t2, t3)
    for pos in range(3, 0, -1):
        rel = _REL[order, operand, pos - 1]
        if (rel == 1 or (rel == 2 and grouped)) and trips[pos - 1] > 1:
            return pos
    if operand != 0 and t0 > 1:
        return 0
    return -1


@njit(cache=True)
def _layer_totals(L, tk, tc, tp, tq, wb):
    """Trip counts and the bytes of one pass over all input tiles (exact, clipped to the unpadded input)."""
    N = int(L[L_N]); K = int(L[L_K]); CG = int(L[L_CG]); P = int(L[L_P]); Q = int(L[L_Q])
    R = int(L[L_R]); S = int(L[L_S])
    nk = _cdiv(K, tk); nc = _cdiv(CG, tc); npq = _cdiv(P, tp) * _cdiv(Q, tq)
    rows = _span_sum(P, tp, int(L[L_SH]), int(L[L_PH]), int(L[L_RX]), int(L[L_H]))
    cols = _span_sum(Q, tq, int(L[L_SW]), int(L[L_PW]), int(L[L_SX]), int(L[L_W]))
    i_sweep = float(N) * _in_ch_sum(L, tk) * rows * cols * wb
    return nk, nc, npq, i_sweep


@njit(cache=True)
def _in_ch_sum(L, tk):
    """Input channels summed over all output-channel tiles and input-channel tiles."""
    K = int(L[L_K]); CG = int(L[L_CG]); G = int(L[L_G]); KG = int(L[L_KG])
    if G == 1:
        return CG
    nk = _cdiv(K, tk)
    lastk = K - (nk - 1) * tk
    return ((nk - 1) * _groups_in(tk, KG, G) + _groups_in(lastk, KG, G)) * CG


@njit(cache=True)
def _order_traffic(L, order, nk, nc, npq, i_sweep, wb, pb):
    """DRAM traffic of one loop order. Returns (w_tr, i_tr, o_final, o_spill, f_w, f_i, f_o, F1, F2, F3, F4,
    j_w, j_i, j_o): bytes per operand, fetch counts, cumulative trip products and innermost changing loops."""
    N = int(L[L_N]); K = int(L[L_K]); CG = int(L[L_CG]); P = int(L[L_P]); Q = int(L[L_Q])
    R = int(L[L_R]); S = int(L[L_S]); G = int(L[L_G])
    grouped = G > 1
    t1, t2, t3 = _order_trips(order, nk, nc, npq)
    F1 = float(N)
    F2 = F1 * t1
    F3 = F2 * t2
    F4 = F3 * t3
    j_w = _innermost_changing(order, 0, grouped, N, t1, t2, t3)
    j_i = _innermost_changing(order, 1, grouped, N, t1, t2, t3)
    j_o = _innermost_changing(order, 2, grouped, N, t1, t2, t3)
    f_w = _cum(j_w, F1, F2, F3, F4)
    f_i = _cum(j_i, F1, F2, F3, F4)
    f_o = _cum(j_o, F1, F2, F3, F4)
    w_tr = float(K) * CG * R * S * wb * f_w / (nk * nc)
    i_tr = i_sweep * f_i / (float(N) * nc * npq * (nk if grouped else 1))
    o_elems = float(N) * K * P * Q
    visits = f_o / (float(N) * nk * npq)
    o_final = o_elems * wb
    o_spill = (visits - 1.0) * o_elems * pb
    return w_tr, i_tr, o_final, o_spill, f_w, f_i, f_o, F1, F2, F3, F4, j_w, j_i, j_o


@njit(cache=True)
def _cum(j, F1, F2, F3, F4):
    """Number of distinct consecutive tiles of an operand whose innermost changing loop is at position j."""
    if j < 0:
        return 1.0
    if j == 0:
        return F1
    if j == 1:
        return F2
    if j == 2:
        return F3
    return F4


@njit(cache=True)
def _latency_cycles(comp_total, steps, bw, w_tr, i_tr, o_final, o_spill, f_w, f_i, f_o, F1, F2, F3, F4,
                    j_w, j_i, j_o, overlap_ends):
    """Double-buffered tile pipeline: prologue load, then each step transition costs
    max(compute of a step, bytes moved at that transition / bandwidth), then the last compute and drain.
    A transition where the loop at position m advances moves every operand whose innermost changing loop
    is at m or inside it. With `overlap_ends` the prologue load and the final drain run during the
    neighbouring layers (LAYER_BOUNDARIES "overlapped"): the layer costs its steady-state steps, and never
    less than all its DRAM bytes over the bandwidth. Returns (cycles, stall cycles beyond compute)."""
    comp = comp_total / steps
    avg_w = w_tr / f_w
    avg_i = i_tr / f_i
    avg_o = (o_final + 2.0 * o_spill) / f_o
    prologue = (avg_w + avg_i) / bw
    transfer = prologue
    cycles = prologue
    prev = 1.0
    for m in range(4):
        cur = F1 if m == 0 else (F2 if m == 1 else (F3 if m == 2 else F4))
        cnt = cur - prev
        prev = cur
        if cnt <= 0.0:
            continue
        b = 0.0
        if j_w >= m:
            b += avg_w
        if j_i >= m:
            b += avg_i
        if j_o >= m:
            b += avg_o
        t = b / bw
        transfer += cnt * t
        cycles += cnt * (t if t > comp else comp)
    drain = o_final / f_o / bw
    transfer += drain
    cycles += comp + drain
    if overlap_ends:
        cycles = max(cycles - prologue - drain, transfer)
    return cycles, cycles - comp * steps


@njit(cache=True)
def _rq(rf_bytes, rf_psum_fraction, rq_fixed, vk, pb):
    """Output pixels a lane accumulates in its register file per weight fetch (>= 1)."""
    if rq_fixed > 0:
        return float(rq_fixed)
    r = np.floor(rf_bytes * rf_psum_fraction / (vk * pb))
    return r if r > 1.0 else 1.0


@njit(cache=True)
def mapping_metrics(L, tk, tc, tp, tq, order, pk, pp, lane, pes, lanes, vk, vc, wb, pb, rf_bytes,
                    rf_psum_fraction, rq_fixed, bw, e_mac, e_rf, e_glb, e_dram, overlap_ends):
    """Every metric of one mapping (the M_* vector). `bw` is in bytes per cycle; energies in J per MAC/byte."""
    out = np.zeros(NM, np.float64)
    N = int(L[L_N]); K = int(L[L_K]); CG = int(L[L_CG]); P = int(L[L_P]); Q = int(L[L_Q])
    R = int(L[L_R]); S = int(L[L_S]); KG = int(L[L_KG])
    lk = lanes if lane == 0 else 1
    lp = 1 if lane == 0 else lanes
    macs = float(N) * K * CG * P * Q * R * S
    nk, nc, npq, i_sweep = _layer_totals(L, tk, tc, tp, tq, wb)
    steps = float(N) * nk * nc * npq
    comp_total = (float(N) * _ceil_sum(K, tk, pk * lk * vk) * _red_sum(CG, tc, R * S, vc)
                  * _pix_sum(P, tp, Q, tq, pp, lp))
    w_tr, i_tr, o_final, o_spill, f_w, f_i, f_o, F1, F2, F3, F4, j_w, j_i, j_o = _order_traffic(
        L, order, nk, nc, npq, i_sweep, wb, pb)
    cycles, stall = _latency_cycles(comp_total, steps, bw, w_tr, i_tr, o_final, o_spill, f_w, f_i, f_o,
                                    F1, F2, F3, F4, j_w, j_i, j_o, overlap_ends)
    # ---- access counts (see the conventions in generic.py) ----
    in_reads = _input_reads(K, tk, pk * lk, min(vk, KG), macs)
    v_red = float(min(vc, CG * R * S))        # reduction ways used per SIMD unit
    pix_lane = float(_cdiv(_cdiv(tp, pp) * tq, lp))
    rq = min(_rq(rf_bytes, rf_psum_fraction, rq_fixed, vk, pb), pix_lane)
    o_elems = float(N) * K * P * Q
    rf_words = macs + in_reads + 2.0 * macs / v_red
    rf_b = (macs + in_reads) * wb + 2.0 * macs / v_red * pb
    glb_reads_b = macs / rq * wb + in_reads * wb + o_elems * (nc - 1) * pb + o_final + o_spill
    glb_reads_w = macs / rq + in_reads + o_elems * (nc - 1) + o_final / wb + o_spill / pb
    glb_writes_b = w_tr * pp + i_tr * pk + o_spill + o_elems * nc * pb
    glb_writes_w = w_tr / wb * pp + i_tr / wb * pk + o_spill / pb + o_elems * nc
    dram_b = w_tr + i_tr + o_final + 2.0 * o_spill
    dram_w = (w_tr + i_tr + o_final) / wb + 2.0 * o_spill / pb
    out[M_CYCLES] = cycles
    out[M_COMPUTE] = comp_total
    out[M_STEPS] = steps
    out[M_NEED] = buffer_need(L, tk, tc, tp, tq, pk, pp, wb, pb)
    out[M_MACS] = macs
    out[M_DRAM_BYTES] = dram_b
    out[M_GLB_BYTES] = glb_reads_b + glb_writes_b
    out[M_RF_BYTES] = rf_b
    out[M_DRAM_WORDS] = dram_w
    out[M_GLB_WORDS] = glb_reads_w + glb_writes_w
    out[M_RF_WORDS] = rf_words
    out[M_E_MAC] = macs * e_mac
    out[M_E_RF] = rf_b * e_rf
    out[M_E_GLB] = (glb_reads_b + glb_writes_b) * e_glb
    out[M_E_DRAM] = dram_b * e_dram
    out[M_STALL] = stall
    out[M_RQ] = rq
    return out


@njit(cache=True)
def _red_sum(CG, tc, RS, vc):
    """Sum over input-channel tiles of ceil(tile x R x S / vc): the reduction (c, r, s) is packed onto the
    vc ways of a SIMD unit."""
    n = _cdiv(CG, tc)
    last = CG - (n - 1) * tc
    return (n - 1) * _cdiv(tc * RS, vc) + _cdiv(last * RS, vc)


@njit(cache=True)
def _better(obj, lat, ene, rec):
    if obj < rec[F_OBJ]:
        return True
    if obj > rec[F_OBJ]:
        return False
    if lat < rec[F_LAT]:
        return True
    if lat > rec[F_LAT]:
        return False
    return ene < rec[F_ENE]


@njit(cache=True)
def _worst_best(best, worst):
    """worst[g, b] = (objective, latency) of the worst record over the register-file cells at local memory g and
    bandwidth b (lexicographic, as `_better` ranks), once smaller-memory records are propagated to larger
    memories; inf while some cell has none. Propagated records only improve with g, so worst[g0, b] bounds
    every cell g >= g0 that a mapping needing memory g0 can reach."""
    n_rf, n_glb, n_bw = best.shape[0], best.shape[1], best.shape[2]
    for b in range(n_bw):
        for g in range(n_glb):
            worst[g, b, 0] = -1.0
            worst[g, b, 1] = -1.0
        for r in range(n_rf):
            run_o = np.inf
            run_l = np.inf
            for g in range(n_glb):
                v = best[r, g, b, F_OBJ]
                lt = best[r, g, b, F_LAT]
                if v < run_o or (v == run_o and lt < run_l):
                    run_o = v
                    run_l = lt
                if run_o > worst[g, b, 0] or (run_o == worst[g, b, 0] and run_l > worst[g, b, 1]):
                    worst[g, b, 0] = run_o
                    worst[g, b, 1] = run_l


@njit(cache=True)
def _objective_value(objective, lat, ene):
    if objective == OBJ_LATENCY:
        return lat
    if objective == OBJ_ENERGY:
        return ene
    return lat * ene


@njit(cache=True)
def _cut(objective, lb_compute, lb_bytes, lb_energy, bw_list, worst, glb_list, need):
    """True when a subtree cannot improve any cell: all its mappings need >= `need` bytes of local memory, take
    at least max(compute bound, bytes / bandwidth) cycles and at least `lb_energy` J. At the smallest local
    memory holding `need` and every bandwidth, the bound on the objective must exceed the worst record's, or
    match it (within rounding) while the latency bound exceeds the record's latency (the tie-break)."""
    g0 = 0
    while g0 < glb_list.shape[0] - 1 and glb_list[g0] < need:
        g0 += 1
    eps = 1e-9   # the bounds are summed in another order than the costs
    for b in range(bw_list.shape[0]):
        lat = max(lb_compute, lb_bytes / bw_list[b])
        v = _objective_value(objective, lat, lb_energy)
        w_obj = worst[g0, b, 0]
        if v > w_obj * (1.0 + eps):
            continue
        if v >= w_obj * (1.0 - eps) and lat > worst[g0, b, 1] * (1.0 + eps):
            continue
        return False
    return True


@njit(cache=True)
def search_layer(L, pes, lanes, vk, vc, wb, pb, rf_list, rf_psum_fraction, rq_fixed, glb_list, bw_list,
                 e_mac, e_rf, e_glb, e_dram, pow2, objective, overlap_ends):
    """Best mapping of layer L for every (rf, glb, bw) cell; glb_list must be ascending.

    The mapping space: PE split (pk along K, pp along output rows, pk x pp <= pes), lane split (K or pixels),
    tile sizes (tk, tc, tp, tq; every size whose trip count the mapspace allows) and the three loop orders.
    The pruning (each step provably keeps an optimum; see generic.py) is dominance within a trip count
    (`channel_candidates`, `pixel_candidates`), dominated PE splits (latency only), the buffer-capacity break
    and a branch-and-bound on compute, DRAM-traffic and energy lower bounds.
    Returns records [n_rf, n_glb, n_bw, NF] with F_OBJ = inf where nothing fits."""
    n_rf = rf_list.shape[0]
    n_glb = glb_list.shape[0]
    n_bw = bw_list.shape[0]
    best = np.full((n_rf, n_glb, n_bw, NF), np.inf)
    N = int(L[L_N]); K = int(L[L_K]); CG = int(L[L_CG]); P = int(L[L_P]); Q = int(L[L_Q])
    R = int(L[L_R]); S = int(L[L_S]); KG = int(L[L_KG]); G = int(L[L_G])
    SH = int(L[L_SH]); SW = int(L[L_SW]); PH = int(L[L_PH]); PW = int(L[L_PW]); H = int(L[L_H]); W = int(L[L_W])
    RX = int(L[L_RX]); SX = int(L[L_SX])
    cap = glb_list[n_glb - 1]
    latency_obj = objective == OBJ_LATENCY
    cc = channel_candidates(CG, R * S, vc, 1, False, pow2, 0, 1)
    macs = float(N) * K * CG * P * Q * R * S
    b_in = float(min(vk, KG))                 # most SIMD units that can share an input word
    v_red = float(min(vc, CG * R * S))
    o_elems = float(N) * K * P * Q
    w_bytes = float(K) * CG * R * S * wb
    nc_of = np.empty(cc.shape[0], np.int64)
    csum_of = np.empty(cc.shape[0])
    for i in range(cc.shape[0]):
        nc_of[i] = _cdiv(CG, cc[i])
        csum_of[i] = _red_sum(CG, cc[i], R * S, vc)
    csum_min = csum_of.min()
    rqs = np.empty(n_rf)
    for r in range(n_rf):
        rqs[r] = _rq(rf_list[r], rf_psum_fraction, rq_fixed, vk, pb)
    rq_cap = 0.0 if latency_obj else rqs.max()
    rf_lb = (macs + macs / b_in) * wb + 2.0 * macs / v_red * pb
    # energy every mapping pays: MACs, register file, local-memory reads to the lanes (at the best reuse) and
    # the final outputs through local memory and DRAM
    e_base = (macs * e_mac + rf_lb * e_rf + (macs / b_in * wb + o_elems * wb + macs / max(rqs.max(), 1.0) * wb)
              * e_glb + o_elems * wb * e_dram)
    worst = np.full((n_glb, n_bw, 2), np.inf)
    for pk in range(1, pes + 1):
        for pp in range(1, pes // pk + 1):
            if latency_obj and (pk != pes // pp or pp != pes // pk):
                # (pes // pk, pes // (pes // pk)) >= (pk, pp) elementwise: no more compute, buffer or DRAM
                # traffic (PE copies only add local-memory writes, i.e. energy)
                continue
            for lane in range(2 if lanes > 1 else 1):
                lk = lanes if lane == 0 else 1
                lp = 1 if lane == 0 else lanes
                ck = channel_candidates(K, 1, pk * lk * vk, KG, G > 1, pow2, 0 if latency_obj else pk * lk,
                                        min(vk, KG))
                cp = pixel_candidates(P, pp, lp, SH, PH, RX, H, Q, rq_cap, pow2, True)
                cq = pixel_candidates(Q, pp, lp, SW, PW, SX, W, P, rq_cap, pow2, False)
                rows_of = np.empty(cp.shape[0])
                psum_of = np.empty(cp.shape[0])
                for i in range(cp.shape[0]):
                    rows_of[i] = _span_sum(P, cp[i], SH, PH, RX, H)
                    npi = _cdiv(P, cp[i])
                    psum_of[i] = (npi - 1) * _cdiv(cp[i], pp) + _cdiv(P - (npi - 1) * cp[i], pp)
                cols_of = np.empty(cq.shape[0])
                for i in range(cq.shape[0]):
                    cols_of[i] = _span_sum(Q, cq[i], SW, PW, SX, W)
                rows_min = rows_of.min()
                cols_min = cols_of.min()
                pix_lb = float(P) * Q / (pp * lp)   # sum of ceil(rows_per_PE x cols / lp) >= P*Q / (pp*lp)
                for ik in range(ck.shape[0]):
                    tk = ck[ik]
                    need_k = buffer_need(L, tk, cc[0], cp[0], cq[0], pk, pp, wb, pb)
                    if need_k > cap:
                        break
                    ksum = _ceil_sum(K, tk, pk * lk * vk)
                    in_reads = _input_reads(K, tk, pk * lk, min(vk, KG), macs)
                    rf_b = (macs + in_reads) * wb + 2.0 * macs / v_red * pb
                    nk = _cdiv(K, tk)
                    inch = _in_ch_sum(L, tk)
                    _worst_best(best, worst)
                    in_lb = float(N) * inch * rows_min * cols_min * wb      # inputs fetched at least once
                    bytes_lb = w_bytes + in_lb + o_elems * wb
                    # e_base books the input operand reads at the widest sharing; this K tiling's lane passes add
                    # (in_reads - macs / b_in) register-file and local-memory reads
                    e_k = (e_base + (in_reads - macs / b_in) * wb * (e_rf + e_glb)
                           + (w_bytes * pp + in_lb * pk + o_elems * pb) * e_glb + (w_bytes + in_lb) * e_dram)
                    if _cut(objective, float(N) * ksum * csum_min * pix_lb, bytes_lb, e_k, bw_list, worst,
                            glb_list, need_k):
                        continue
                    for ic in range(cc.shape[0]):
                        tc = cc[ic]
                        need_c = buffer_need(L, tk, tc, cp[0], cq[0], pk, pp, wb, pb)
                        if need_c > cap:
                            break
                        csum = csum_of[ic]
                        nc = nc_of[ic]
                        # partial sums: nc writes and nc - 1 read-backs per output in local memory
                        e_c = e_k + o_elems * (2 * nc - 2) * pb * e_glb
                        if _cut(objective, float(N) * ksum * csum * pix_lb, bytes_lb, e_c, bw_list, worst,
                                glb_list, need_c):
                            continue
                        for ip in range(cp.shape[0]):
                            tp = cp[ip]
                            need_p = buffer_need(L, tk, tc, tp, cq[0], pk, pp, wb, pb)
                            if need_p > cap:
                                break
                            in_p = float(N) * inch * rows_of[ip] * cols_min * wb
                            e_p = e_c + (in_p - in_lb) * (pk * e_glb + e_dram)
                            if _cut(objective, float(N) * ksum * csum * psum_of[ip] * Q / lp,
                                    w_bytes + in_p + o_elems * wb, e_p, bw_list, worst, glb_list, need_p):
                                continue
                            for iq in range(cq.shape[0]):
                                tq = cq[iq]
                                need = buffer_need(L, tk, tc, tp, tq, pk, pp, wb, pb)
                                if need > cap:
                                    break
                                g0 = 0
                                while glb_list[g0] < need:
                                    g0 += 1
                                comp_total = float(N) * ksum * csum * _pix_sum(P, tp, Q, tq, pp, lp)
                                npq = _cdiv(P, tp) * _cdiv(Q, tq)
                                i_sweep = float(N) * inch * rows_of[ip] * cols_of[iq] * wb
                                steps = float(N) * nk * nc * npq
                                pix_lane = float(_cdiv(_cdiv(tp, pp) * tq, lp))
                                for order in range(3):
                                    (w_tr, i_tr, o_final, o_spill, f_w, f_i, f_o, F1, F2, F3, F4, j_w, j_i,
                                     j_o) = _order_traffic(L, order, nk, nc, npq, i_sweep, wb, pb)
                                    dram_b = w_tr + i_tr + o_final + 2.0 * o_spill
                                    glb_fixed = (in_reads * wb + o_elems * (nc - 1) * pb + o_final + o_spill
                                                 + w_tr * pp + i_tr * pk + o_spill + o_elems * nc * pb)
                                    e_fixed = macs * e_mac + rf_b * e_rf + glb_fixed * e_glb + dram_b * e_dram
                                    for b in range(n_bw):
                                        lat, _st = _latency_cycles(comp_total, steps, bw_list[b], w_tr, i_tr,
                                                                   o_final, o_spill, f_w, f_i, f_o, F1, F2, F3,
                                                                   F4, j_w, j_i, j_o, overlap_ends)
                                        for r in range(n_rf):
                                            rq = min(rqs[r], pix_lane)
                                            ene = e_fixed + macs / rq * wb * e_glb
                                            obj = _objective_value(objective, lat, ene)
                                            rec = best[r, g0, b]
                                            if _better(obj, lat, ene, rec):
                                                rec[F_OBJ] = obj
                                                rec[F_LAT] = lat
                                                rec[F_ENE] = ene
                                                rec[F_TK] = tk
                                                rec[F_TC] = tc
                                                rec[F_TP] = tp
                                                rec[F_TQ] = tq
                                                rec[F_ORDER] = order
                                                rec[F_PK] = pk
                                                rec[F_PP] = pp
                                                rec[F_LANE] = lane
    # a mapping that fits a smaller local memory fits every larger one
    for r in range(n_rf):
        for g in range(1, n_glb):
            for b in range(n_bw):
                prev = best[r, g - 1, b]
                if _better(prev[F_OBJ], prev[F_LAT], prev[F_ENE], best[r, g, b]):
                    best[r, g, b, :] = prev
    return best


@njit(cache=True, parallel=True)
def search_grid(layers, computes, vc, wb, pb, rf_list, rf_psum_fraction, rq_fixed, glb_list, bw_list,
                e_mac, e_rf, e_glb, e_dram, pow2, objective, overlap_ends):
    """`search_layer` for every (layer, compute configuration) pair in parallel.

    layers: [n_layers, LAYER_FIELDS]; computes: [n_compute, 3] int (pes, lanes, simd_units).
    Returns [n_layers, n_compute, n_rf, n_glb, n_bw, NF]."""
    nl = layers.shape[0]
    ncmp = computes.shape[0]
    out = np.empty((nl, ncmp, rf_list.shape[0], glb_list.shape[0], bw_list.shape[0], NF))
    for job in prange(nl * ncmp):
        li = job // ncmp
        ci = job % ncmp
        out[li, ci] = search_layer(layers[li], computes[ci, 0], computes[ci, 1], computes[ci, 2], vc, wb, pb,
                                   rf_list, rf_psum_fraction, rq_fixed, glb_list, bw_list, e_mac, e_rf, e_glb,
                                   e_dram, pow2, objective, overlap_ends)
    return out
