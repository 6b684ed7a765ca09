"""Numba kernels of the chunk-pipelined FPGA model: layer timing on a Tn x Tm engine, chunk resources and
the design-space exploration (DP over chunk cuts inside a bisection on the pipeline period).

Everything here works on float64 arrays; `fpga_pipeline` builds them from layers and the spec.
Layer rows (one per layer, columns below) come from `fpga_pipeline.encode_layers`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# ---- layer row columns -------------------------------------------------------------------------
KIND, N, C, K, H, W, P, Q, R, S, STRIDE, GROUPS, MACS, IN_EL, OUT_EL, WEIGHTS, NINPUTS = range(17)
NCOLS = 17

# ---- layer kinds --------------------------------------------------------------------------------
FREE, CONV, LINEAR, POOL, GPOOL, ADD = 0, 1, 2, 3, 4, 5

# ---- hardware parameter vector (`hw`) -------------------------------------------------------------
(HW_WORD_BYTES, HW_PORT_BYTES, HW_DDR_BYTES, HW_OVERHEAD, HW_BRAM_BITS, HW_BRAM_PORT_BITS, HW_EXTRA_ROWS,
 HW_DSP_BUDGET, HW_BRAM_BUDGET, HW_MAX_UNITS, HW_CHUNK_BRAM) = range(11)
NHW = 11

INF = 1e300


@njit(cache=True)
def _cdiv(a, b):
    return math.ceil(a / b)


@njit(cache=True)
def layer_cycles(row, tn, tm):
    """Compute cycles of one layer on an engine with `tn` input-channel and `tm` output-channel lanes.

    A grouped conv runs its groups one after another, each as a ceil(Cg/Tn) x ceil(Kg/Tm) pass per
    output pixel and kernel tap. A depthwise conv (one input channel per output) cannot use the input
    lanes: its channels go across the Tm output lanes and the Tn lanes idle. Pooling and adds use the Tm
    lanes' adders/comparators (fabric logic, no DSP), one window element per lane per cycle.
    """
    kind = row[KIND]
    if kind == CONV:
        g = row[GROUPS]
        cg = row[C] / g
        kg = row[K] / g
        taps = row[N] * row[P] * row[Q] * row[R] * row[S]
        if cg == 1.0:
            return taps * _cdiv(row[K], tm)
        return taps * g * _cdiv(cg, tn) * _cdiv(kg, tm)
    if kind == LINEAR:
        return row[N] * _cdiv(row[C], tn) * _cdiv(row[K], tm)
    if kind == POOL:
        return row[N] * row[P] * row[Q] * row[R] * row[S] * _cdiv(row[C], tm)
    if kind == GPOOL:
        return row[N] * row[H] * row[W] * _cdiv(row[C], tm)
    if kind == ADD:
        return row[N] * row[P] * row[Q] * _cdiv(row[C], tm) * (row[NINPUTS] - 1.0)
    return 0.0


@njit(cache=True)
def layer_bytes(row, word_bytes):
    """DDR bytes of a layer run on its own: input map(s), weights and output map. An element-wise add is
    fused into the output stage of the layer that produces its first operand (the residual is summed into
    the output buffer as it drains), so it moves only its other operands."""
    if row[KIND] == FREE:
        return 0.0
    if row[KIND] == ADD:
        return row[OUT_EL] * (row[NINPUTS] - 1.0) * word_bytes
    return (row[IN_EL] + row[OUT_EL] + row[WEIGHTS]) * word_bytes


@njit(cache=True)
def _bram_blocks(bits, bram_bits):
    return math.ceil(bits / bram_bits)


@njit(cache=True)
def layer_buffer_bram(row, tn, tm, hw):
    """BRAM36 blocks a layer needs in a chunk with a tn x tm engine: line buffer, weight tile, output row.

    - line (column) buffer: R + stride (+ extra) input rows of all channels, banked so that Tn words
      (Tm for depthwise/pooling) are read per cycle;
    - weight tile: Tn x Tm x R x S words, ping-pong, banked Tn*Tm words wide;
    - output rows: two rows of all output channels (ping-pong to the next chunk), Tm words wide.
    """
    kind = row[KIND]
    if kind == FREE or kind == ADD:
        return 0.0  # adds work on the producer's output buffer
    wb = hw[HW_WORD_BYTES] * 8.0
    bb = hw[HW_BRAM_BITS]
    pb = hw[HW_BRAM_PORT_BITS]
    rows = row[R] + row[STRIDE] + hw[HW_EXTRA_ROWS]
    if kind == LINEAR or kind == GPOOL:
        line_words = 2.0 * row[C] * (row[H] * row[W] if kind == GPOOL else 1.0)
        if kind == GPOOL:
            line_words = 2.0 * row[C]
    else:
        line_words = min(rows, row[H]) * row[W] * row[C]
    in_lanes = tn
    if kind != CONV and kind != LINEAR:
        in_lanes = tm
    elif kind == CONV and row[C] == row[GROUPS]:
        in_lanes = tm
    line = max(_cdiv(in_lanes * wb, pb), _bram_blocks(line_words * wb, bb))
    weights = 0.0
    if kind == CONV or kind == LINEAR:
        per_cycle = tn * tm
        if kind == CONV and row[C] == row[GROUPS]:
            per_cycle = tm
        tile_words = 2.0 * per_cycle * row[R] * row[S]
        weights = max(_cdiv(per_cycle * wb, pb), _bram_blocks(tile_words * wb, bb))
    out = max(_cdiv(tm * wb, pb), _bram_blocks(2.0 * row[Q] * row[K] * wb, bb))
    return line + weights + out


@njit(cache=True)
def unit_starts(rows):
    """Split non-free layers into units: a MAC layer and the non-MAC layers after it (leading non-MAC
    layers join the first unit). Chunks are runs of whole units. Returns (layer index of each unit start,
    followed by the number of layers) and the count of units."""
    n = rows.shape[0]
    starts = np.empty(n + 1, np.int64)
    nu = 0
    seen_mac = False
    for i in range(n):
        k = rows[i, KIND]
        if k == CONV or k == LINEAR:
            if seen_mac:
                starts[nu] = i
                nu += 1
            else:
                starts[0] = 0
                nu = 1
                seen_mac = True
    if nu == 0:
        starts[0] = 0
        nu = 1
    starts[nu] = n
    return starts[: nu + 1], nu


@njit(cache=True)
def design(rows, tn_arr, tm_arr, dsp_arr, hw):
    """Best chunked pipeline for the (non-free) layer rows under the budgets in `hw`.

    Returns (status, period_cycles, chunk_of_layer, engine_of_chunk, n_chunks, layer_cycles_on_design,
    stage_cycles, chunk_bram, chunk_bytes, short_layer, short_amount).
    status 0: ok; 1: BRAM cannot fit (short_layer = the layer with the largest minimum need, short_amount =
    BRAM36 short of the budget for the smallest design).
    """
    n = rows.shape[0]
    ne = tn_arr.shape[0]
    wbytes = hw[HW_WORD_BYTES]
    ddr_bpc = hw[HW_DDR_BYTES]
    ovh = hw[HW_OVERHEAD]
    dsp_budget = hw[HW_DSP_BUDGET]
    bram_budget = hw[HW_BRAM_BUDGET]
    wmax = int(hw[HW_MAX_UNITS])
    chunk_fixed_bram = hw[HW_CHUNK_BRAM]

    starts, nu = unit_starts(rows)

    # prefix sums of compute cycles per engine, and of per-layer constants
    pref = np.zeros((ne, n + 1))
    for e in range(ne):
        acc = 0.0
        for i in range(n):
            acc += layer_cycles(rows[i], tn_arr[e], tm_arr[e])
            pref[e, i + 1] = acc
    wsum = np.zeros(n + 1)
    for i in range(n):
        wsum[i + 1] = wsum[i] + rows[i, WEIGHTS] * wbytes

    # chunk candidates: units [u, u + w), w = 1..wmax. Frontier of (dsp, time) over engines.
    ncand = nu * wmax
    fr_len = np.zeros(ncand, np.int64)
    fr_time = np.full((ncand, ne), INF)
    fr_dsp = np.zeros((ncand, ne))
    fr_eng = np.zeros((ncand, ne), np.int64)
    fr_bram = np.zeros((ncand, ne))
    cand_bytes = np.zeros(ncand)
    order = np.argsort(dsp_arr * 1e6 + tn_arr * 1e3 + tm_arr)
    for u in range(nu):
        for w in range(1, wmax + 1):
            if u + w > nu:
                break
            c = u * wmax + (w - 1)
            l0 = starts[u]
            l1 = starts[u + w]
            nl = 0.0
            for i in range(l0, l1):
                if rows[i, KIND] != FREE and rows[i, KIND] != ADD:
                    nl += 1.0
            # DDR traffic per frame: all weights, plus maps between layers inside the chunk (written and
            # read back), plus the network input/output at the pipeline ends.
            byt = wsum[l1] - wsum[l0]
            for i in range(l0, l1 - 1):
                if rows[i + 1, KIND] != ADD:
                    byt += 2.0 * rows[i, OUT_EL] * wbytes
                else:
                    byt += rows[i + 1, OUT_EL] * (rows[i + 1, NINPUTS] - 1.0) * wbytes
            if l0 == 0:
                byt += rows[0, IN_EL] * wbytes
            if l1 == n:
                byt += rows[n - 1, OUT_EL] * wbytes
            cand_bytes[c] = byt
            mem_cycles = byt / ddr_bpc
            best = INF
            k = 0
            for oi in range(ne):
                e = order[oi]
                if dsp_arr[e] > dsp_budget:
                    continue
                comp = pref[e, l1] - pref[e, l0]
                t = max(comp, mem_cycles) + ovh * nl
                if t < best:
                    best = t
                    bram = chunk_fixed_bram
                    for i in range(l0, l1):
                        b = layer_buffer_bram(rows[i], tn_arr[e], tm_arr[e], hw)
                        if b > bram - chunk_fixed_bram:
                            bram = chunk_fixed_bram + b
                    fr_time[c, k] = t
                    fr_dsp[c, k] = dsp_arr[e]
                    fr_eng[c, k] = e
                    fr_bram[c, k] = bram
                    k += 1
            fr_len[c] = k

    # smallest BRAM any design needs: DP over cuts with the cheapest-BRAM engine per chunk
    minb = np.full(nu + 1, INF)
    minb[0] = 0.0
    for u in range(1, nu + 1):
        for w in range(1, wmax + 1):
            if u - w < 0:
                break
            c = (u - w) * wmax + (w - 1)
            bmin = INF
            for k in range(fr_len[c]):
                if fr_bram[c, k] < bmin:
                    bmin = fr_bram[c, k]
            if minb[u - w] + bmin < minb[u]:
                minb[u] = minb[u - w] + bmin
    empty_i = np.zeros(1, np.int64)
    empty_f = np.zeros(1)
    if minb[nu] > bram_budget:
        worst = 0
        worst_b = -1.0
        for i in range(n):
            b = layer_buffer_bram(rows[i], 1.0, 1.0, hw)
            if b > worst_b:
                worst_b = b
                worst = i
        return (1, 0.0, empty_i, empty_i, 0, empty_f, empty_f, empty_f, empty_f, worst, minb[nu] - bram_budget)

    # bisection on the period T: DP gives the least normalised resource use with every stage <= T
    lo = 0.0
    hi = 0.0
    for u in range(nu):
        c = u * wmax
        if fr_time[c, fr_len[c] - 1] > lo:
            lo = fr_time[c, fr_len[c] - 1]
        hi += fr_time[c, 0]
    # `hi` (every unit alone on its own 1-lane engine, summed) bounds any single-chunk design's stage time
    f = np.empty(nu + 1)
    arg_w = np.zeros(nu + 1, np.int64)
    arg_k = np.zeros(nu + 1, np.int64)
    best_w = np.zeros(nu + 1, np.int64)
    best_k = np.zeros(nu + 1, np.int64)
    found = False
    t_lo = lo * (1.0 - 1e-12)
    t_hi = max(hi, lo) * 4.0 + 1.0
    for it in range(64):
        if it == 0:
            t = t_hi
        else:
            t = math.sqrt(t_lo * t_hi) if t_lo > 0 else 0.5 * (t_lo + t_hi)
        f[0] = 0.0
        dsp_tot = np.zeros(nu + 1)
        bram_tot = np.zeros(nu + 1)
        for u in range(1, nu + 1):
            f[u] = INF
            for w in range(1, wmax + 1):
                if u - w < 0:
                    break
                if f[u - w] >= INF:
                    continue
                c = (u - w) * wmax + (w - 1)
                m = fr_len[c]
                if m == 0 or fr_time[c, m - 1] > t:
                    continue
                # first frontier entry (least DSP) with time <= t
                a = 0
                b = m - 1
                while a < b:
                    mid = (a + b) // 2
                    if fr_time[c, mid] <= t:
                        b = mid
                    else:
                        a = mid + 1
                cost = f[u - w] + fr_dsp[c, a] / dsp_budget + fr_bram[c, a] / bram_budget
                if cost < f[u] - 1e-12:
                    f[u] = cost
                    arg_w[u] = w
                    arg_k[u] = a
                    dsp_tot[u] = dsp_tot[u - w] + fr_dsp[c, a]
                    bram_tot[u] = bram_tot[u - w] + fr_bram[c, a]
        ok = f[nu] < INF and dsp_tot[nu] <= dsp_budget and bram_tot[nu] <= bram_budget
        if ok:
            found = True
            t_hi = t
            best_w[:] = arg_w
            best_k[:] = arg_k
        elif it == 0:
            break
        else:
            t_lo = t
        # 1e-4 relative: the period is known to 0.01 %, far below the model's accuracy
        if t_hi - t_lo <= 1e-4 * t_hi:
            break
    if not found:
        worst = 0
        return (1, 0.0, empty_i, empty_i, 0, empty_f, empty_f, empty_f, empty_f, worst, 0.0)

    # reconstruct the design
    chunk_of_layer = np.zeros(n, np.int64)
    eng_rev = np.zeros(nu, np.int64)
    cand_rev = np.zeros(nu, np.int64)
    nch = 0
    u = nu
    while u > 0:
        w = best_w[u]
        c = (u - w) * wmax + (w - 1)
        eng_rev[nch] = fr_eng[c, best_k[u]]
        cand_rev[nch] = c
        nch += 1
        u -= w
    engine_of_chunk = np.zeros(nch, np.int64)
    stage = np.zeros(nch)
    chunk_bram = np.zeros(nch)
    chunk_bytes = np.zeros(nch)
    lcyc = np.zeros(n)
    port_bpc = hw[HW_PORT_BYTES]
    period = 0.0
    tot_bytes = 0.0
    for j in range(nch):
        c = cand_rev[nch - 1 - j]
        e = eng_rev[nch - 1 - j]
        engine_of_chunk[j] = e
        uu = c // wmax
        w = c % wmax + 1
        l0 = starts[uu]
        l1 = starts[uu + w]
        nl = 0.0
        bram = 0.0
        for i in range(l0, l1):
            chunk_of_layer[i] = j
            cyc = layer_cycles(rows[i], tn_arr[e], tm_arr[e])
            if rows[i, KIND] == ADD:
                lcyc[i] = max(cyc, layer_bytes(rows[i], wbytes) / port_bpc)
            elif rows[i, KIND] != FREE:
                nl += 1.0
                # layerwise figure: the layer alone on this engine, maps and weights through the chunk's port
                lcyc[i] = max(cyc, layer_bytes(rows[i], wbytes) / port_bpc) + ovh
            b = layer_buffer_bram(rows[i], tn_arr[e], tm_arr[e], hw)
            if b > bram:
                bram = b
        chunk_bram[j] = bram + chunk_fixed_bram
        chunk_bytes[j] = cand_bytes[c]
        tot_bytes += cand_bytes[c]
        comp = pref[e, l1] - pref[e, l0]
        stage[j] = max(comp, cand_bytes[c] / ddr_bpc) + ovh * nl
        if stage[j] > period:
            period = stage[j]
    # all chunks share the DDR: a frame's traffic must fit in one period
    if tot_bytes / ddr_bpc > period:
        period = tot_bytes / ddr_bpc
    return (0, period, chunk_of_layer, engine_of_chunk, nch, lcyc, stage, chunk_bram, chunk_bytes, -1, 0.0)


@njit(cache=True)
def evaluate_batch(layer_rows, sequences, lengths, tn_arr, tm_arr, dsp_arr, hw):
    """Per network i (rows sequences[i, :lengths[i]]): (status, layerwise latency cycles, period cycles,
    total MACs). Free layers are dropped here as `map_network` drops them."""
    nnet = sequences.shape[0]
    status = np.zeros(nnet, np.int64)
    lat = np.zeros(nnet)
    per = np.zeros(nnet)
    macs = np.zeros(nnet)
    ncol = layer_rows.shape[1]
    for i in range(nnet):
        m = 0
        for j in range(lengths[i]):
            if layer_rows[sequences[i, j], KIND] != FREE:
                m += 1
        rows = np.empty((max(m, 1), ncol))
        k = 0
        for j in range(lengths[i]):
            r = layer_rows[sequences[i, j]]
            if r[KIND] != FREE:
                rows[k] = r
                macs[i] += r[MACS]
                k += 1
        if m == 0:
            status[i] = 0
            continue
        res = design(rows, tn_arr, tm_arr, dsp_arr, hw)
        status[i] = res[0]
        if res[0] == 0:
            per[i] = res[1]
            lat[i] = res[5].sum()
    return status, lat, per, macs
