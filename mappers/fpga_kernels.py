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
#: input rows one window spans: dilation x (R - 1) + 1 (R for an undilated kernel); sets the line buffer
R_SPAN = 17
NCOLS = 18

# ---- layer kinds --------------------------------------------------------------------------------
FREE, CONV, LINEAR, POOL, GPOOL, ADD = 0, 1, 2, 3, 4, 5

# ---- hardware parameter vector (`hw`) -------------------------------------------------------------
(HW_WORD_BYTES, HW_PORT_BYTES, HW_DDR_BYTES, HW_OVERHEAD, HW_BRAM_BITS, HW_BRAM_PORT_BITS, HW_EXTRA_ROWS,
 HW_DSP_BUDGET, HW_BRAM_BUDGET, HW_MAX_UNITS, HW_CHUNK_BRAM, HW_LW_MAX_TN, HW_LW_MAX_TM, HW_DSP_DEVICE,
 HW_BRAM_DEVICE, HW_DW_PER_GROUP, HW_LW_WEIGHTS, HW_LW_WBUF_BITS, HW_COMPOSITION, HW_BP_II, HW_BP_PW_LANES,
 HW_BP_DW_LANES, HW_BP_WRITE_WORDS, HW_BP_EXPAND_OUT, HW_BP_OTHER_FREE) = range(25)
NHW = 25

# ---- layerwise weight placement (hw[HW_LW_WEIGHTS]) and network composition (hw[HW_COMPOSITION]) -----------
LW_STREAMED, LW_RESIDENT_IF_FIT, LW_BUFFERED = 0, 1, 2
LAYER_SUM, SEPARABLE_BLOCKS = 0, 1

INF = 1e300


@njit(cache=True)
def _cdiv(a, b):
    return math.ceil(a / b)


@njit(cache=True)
def layer_cycles(row, tn, tm, dw_per_group):
    """Compute cycles of one layer on an engine with `tn` input-channel and `tm` output-channel lanes.

    A grouped conv runs its groups one after another, each as a ceil(Cg/Tn) x ceil(Kg/Tm) pass per
    output pixel and kernel tap. A depthwise conv (one input channel per output) depends on the engine:
    with `dw_per_group` (a dense Tn x Tm engine with no depthwise path, DNNBuilder-style) it is that
    grouped schedule, one busy lane per cycle; otherwise (a depthwise-aware engine) its channels go across
    the Tm output lanes and the Tn lanes idle. Pooling and adds use the Tm lanes' adders/comparators
    (fabric logic, no DSP): a pooling lane reads its whole R x S window from the line buffer's window
    registers each cycle (one output per lane per cycle); a global pool or an add takes one element per
    lane per cycle.
    """
    kind = row[KIND]
    if kind == CONV:
        g = row[GROUPS]
        cg = row[C] / g
        kg = row[K] / g
        taps = row[N] * row[P] * row[Q] * row[R] * row[S]
        if cg == 1.0 and not dw_per_group:
            return taps * _cdiv(row[K], tm)
        return taps * g * _cdiv(cg, tn) * _cdiv(kg, tm)
    if kind == LINEAR:
        return row[N] * _cdiv(row[C], tn) * _cdiv(row[K], tm)
    if kind == POOL:
        # line buffer + R x S window registers: a whole window per lane per cycle
        return row[N] * row[P] * row[Q] * _cdiv(row[C], tm)
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
def layerwise_engine(row, tn_arr, tm_arr, dsp_arr, hw):
    """Index of the layer engine used for the layerwise figure: fewest cycles within the DSP budget and the
    unroll limits, then fewest DSPs; -1 if no engine qualifies (then a 1 x 1 engine is used)."""
    best = INF
    best_dsp = INF
    idx = -1
    for e in range(tn_arr.shape[0]):
        if dsp_arr[e] > hw[HW_DSP_BUDGET] or tn_arr[e] > hw[HW_LW_MAX_TN] or tm_arr[e] > hw[HW_LW_MAX_TM]:
            continue
        c = layer_cycles(row, tn_arr[e], tm_arr[e], hw[HW_DW_PER_GROUP] > 0)
        if c < best or (c == best and dsp_arr[e] < best_dsp):
            best = c
            best_dsp = dsp_arr[e]
            idx = e
    return idx


@njit(cache=True)
def resident_weight_bram(row, tn, tm, hw):
    """BRAM36 blocks that hold all of a layer's weights on a tn x tm engine: banked so that one read
    delivers a word to every weight lane (as the streamed tile is banked), each bank as deep as the
    layer's weight rows (one row per engine pass over a kernel tap)."""
    kind = row[KIND]
    if not (kind == CONV or kind == LINEAR) or row[WEIGHTS] <= 0.0:
        return 0.0
    wb = hw[HW_WORD_BYTES] * 8.0
    pb = hw[HW_BRAM_PORT_BITS]
    depth = hw[HW_BRAM_BITS] / pb  # words of bram_port_bits per BRAM36
    if kind == LINEAR:
        lanes = tn * tm
        nrows = _cdiv(row[C], tn) * _cdiv(row[K], tm)
    elif row[C] == row[GROUPS]:
        lanes = tm  # depthwise: one weight per output lane
        nrows = _cdiv(row[C], tm) * row[R] * row[S]
    else:
        g = row[GROUPS]
        lanes = tn * tm
        nrows = g * _cdiv(row[C] / g, tn) * _cdiv(row[K] / g, tm) * row[R] * row[S]
    return _cdiv(lanes * wb, pb) * math.ceil(nrows / depth)


@njit(cache=True)
def layerwise_weights_resident(row, tn, tm, hw):
    """Are the layer's weights on chip when it runs on its own on a tn x tm engine (so not streamed per frame)?
    `layerwise.weights`: streamed - never; buffered - when they fit the weight buffer (hw[HW_LW_WBUF_BITS]);
    resident_if_fit - when its line buffer, its weights banked one word per weight lane and its output rows
    fit the BRAM budget. Weights on chip are loaded once, outside a steady-state measurement."""
    mode = hw[HW_LW_WEIGHTS]
    if mode == LW_STREAMED:
        return False
    if mode == LW_BUFFERED:
        return row[WEIGHTS] * hw[HW_WORD_BYTES] * 8.0 <= hw[HW_LW_WBUF_BITS]
    consts = bram_consts(row, hw)
    if consts[2] == 0.0:
        return True  # no weights
    wb = hw[HW_WORD_BYTES] * 8.0
    pb = hw[HW_BRAM_PORT_BITS]
    in_lanes = tn if consts[0] == 1.0 else tm
    line = max(_cdiv(in_lanes * wb, pb), consts[1])
    out = max(_cdiv(tm * wb, pb), consts[4])
    return line + resident_weight_bram(row, tn, tm, hw) + out <= hw[HW_BRAM_BUDGET]


@njit(cache=True)
def layerwise_cycles(row, tn_arr, tm_arr, dsp_arr, hw):
    """Cycles of one layer run on its own (the `layer_sum` composition of the layerwise figure): load its input
    map, compute, store its output map, one phase after the other through the map AXI port, while its weights
    stream in through their own port (DNNBuilder-style separate weight and map ports) into ping-pong weight
    tiles -- unless they are on chip (`layerwise_weights_resident`). The engine is the fastest within the DSP
    budget and the layer engine's unroll limits."""
    kind = row[KIND]
    if kind == FREE:
        return 0.0
    e = layerwise_engine(row, tn_arr, tm_arr, dsp_arr, hw)
    tn = 1.0 if e < 0 else tn_arr[e]
    tm = 1.0 if e < 0 else tm_arr[e]
    best = layer_cycles(row, tn, tm, hw[HW_DW_PER_GROUP] > 0)
    port = hw[HW_PORT_BYTES]
    wb = hw[HW_WORD_BYTES]
    if kind == ADD:
        return best + layer_bytes(row, wb) / port  # fused into the producer: no loop of its own
    maps = (row[IN_EL] + row[OUT_EL]) * wb / port
    weights = 0.0 if layerwise_weights_resident(row, tn, tm, hw) else row[WEIGHTS] * wb / port
    return max(maps + best, weights) + hw[HW_OVERHEAD]


@njit(cache=True)
def is_pointwise(row):
    """A 1x1 convolution that is not depthwise (grouped is fine)."""
    return row[KIND] == CONV and row[R] == 1.0 and row[S] == 1.0 and not (row[GROUPS] > 1.0 and row[C] == row[GROUPS])


@njit(cache=True)
def is_depthwise(row):
    """A convolution with one input channel per group (C == groups > 1)."""
    return row[KIND] == CONV and row[GROUPS] > 1.0 and row[C] == row[GROUPS]


@njit(cache=True)
def block_chunk_cycles(expand, dw, project, hw):
    """(pointwise-chunk cycles of the expand conv, of the project conv, depthwise-chunk cycles) of a separable
    block run as two pipelined sub-accelerators (`layerwise.block_pipeline`): the pointwise chunk issues
    pointwise_lanes MACs and write_words output words every initiation_interval cycles, the depthwise chunk
    depthwise_lanes MACs. With expand_resolution = block_output the expand conv is costed on the block's output
    plane (HW-NAS-Bench's predictor sizes every layer of a block by its output)."""
    ii = hw[HW_BP_II]
    pw = hw[HW_BP_PW_LANES]
    ww = hw[HW_BP_WRITE_WORDS]
    e_px = expand[N] * expand[P] * expand[Q]
    px = dw[N] * dw[P] * dw[Q] if hw[HW_BP_EXPAND_OUT] > 0.0 else e_px
    t_expand = ii * (expand[MACS] / e_px * px / pw + expand[K] * px / ww)
    t_project = ii * (project[MACS] / pw + project[OUT_EL] / ww)
    t_dw = ii * dw[MACS] / hw[HW_BP_DW_LANES]
    return t_expand, t_project, t_dw


@njit(cache=True)
def composed_cycles(rows, lw, hw):
    """Per-layer cycles of the layerwise figure for the (non-free) layer rows of one network, in order; `lw`
    holds each row's `layerwise_cycles`. layer_sum: `lw` itself. separable_blocks: every depthwise conv with a
    pointwise conv right before and right after it forms a block whose time is its bottleneck chunk's,
    max(expand + project on the pointwise chunk, depthwise chunk); the 1x1 convs carry their pointwise-chunk
    time and the depthwise conv the excess of its chunk over it. Other layers carry `lw`, or nothing with
    other_layers = free."""
    n = rows.shape[0]
    out = lw.copy()
    if hw[HW_COMPOSITION] == LAYER_SUM:
        return out
    if hw[HW_BP_OTHER_FREE] > 0.0:
        out[:] = 0.0
    i = 1
    while i < n - 1:
        if is_depthwise(rows[i]) and is_pointwise(rows[i - 1]) and is_pointwise(rows[i + 1]):
            t_e, t_p, t_d = block_chunk_cycles(rows[i - 1], rows[i], rows[i + 1], hw)
            out[i - 1] = t_e
            out[i] = max(0.0, t_d - t_e - t_p)
            out[i + 1] = t_p
            i += 3  # the project conv is not the next block's expand
        else:
            i += 1
    return out


@njit(cache=True)
def _bram_blocks(bits, bram_bits):
    return math.ceil(bits / bram_bits)


@njit(cache=True)
def bram_consts(row, hw):
    """Engine-independent part of a layer's buffer need: (input lanes kind, line-buffer blocks by capacity,
    weight lanes kind, weight-tile blocks per weight lane, output-row blocks by capacity). Lane kinds:
    0 none, 1 Tn, 2 Tm, 3 Tn*Tm."""
    out = np.zeros(5)
    kind = row[KIND]
    if kind == FREE or kind == ADD:
        return out  # adds work on the producer's output buffer
    wb = hw[HW_WORD_BYTES] * 8.0
    bb = hw[HW_BRAM_BITS]
    depthwise = kind == CONV and row[C] == row[GROUPS]
    if kind == LINEAR or kind == GPOOL:
        line_words = 2.0 * row[C]
    else:
        line_words = min(row[R_SPAN] + row[STRIDE] + hw[HW_EXTRA_ROWS], row[H]) * row[W] * row[C]
    out[0] = 1.0 if (kind == CONV or kind == LINEAR) and not depthwise else 2.0
    out[1] = _bram_blocks(line_words * wb, bb)
    if kind == CONV or kind == LINEAR:
        out[2] = 2.0 if depthwise else 3.0
        out[3] = 2.0 * row[R] * row[S] * wb / bb
    out[4] = _bram_blocks(2.0 * row[Q] * row[K] * wb, bb)
    return out


@njit(cache=True)
def bram_on_engine(consts, tn, tm, hw):
    """BRAM36 blocks of a layer (its `bram_consts`) in a chunk with a tn x tm engine."""
    if consts[0] == 0.0:
        return 0.0
    wb = hw[HW_WORD_BYTES] * 8.0
    pb = hw[HW_BRAM_PORT_BITS]
    in_lanes = tn if consts[0] == 1.0 else tm
    line = max(_cdiv(in_lanes * wb, pb), consts[1])
    weights = 0.0
    if consts[2] != 0.0:
        per_cycle = tm if consts[2] == 2.0 else tn * tm
        weights = max(_cdiv(per_cycle * wb, pb), math.ceil(per_cycle * consts[3]))
    return line + weights + max(_cdiv(tm * wb, pb), consts[4])


@njit(cache=True)
def layer_buffer_bram(row, tn, tm, hw):
    """BRAM36 blocks a layer needs in a chunk with a tn x tm engine: line buffer, weight tile, output row.

    - line (column) buffer: R + stride (+ extra) input rows of all channels, banked so that Tn words
      (Tm for depthwise/pooling) are read per cycle;
    - weight tile: Tn x Tm x R x S words (Tm x R x S for depthwise), ping-pong, banked one word per lane;
    - output rows: two rows of all output channels (ping-pong to the next chunk), Tm words wide.
    A bank is one BRAM36 port of `bram_port_bits`.
    """
    return bram_on_engine(bram_consts(row, hw), tn, tm, hw)


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
def _grow_f(a, cap, used):
    b = np.empty(cap)
    b[:used] = a[:used]
    return b


@njit(cache=True)
def _grow_i(a, cap, used):
    b = np.empty(cap, np.int64)
    b[:used] = a[:used]
    return b


@njit(cache=True)
def _dp(t, nu, wmax, fr_len, fr_off, fr_time, fr_dsp, fr_bram, cand_bytes, w_dsp, w_bram, w_ddr, f, arg_w, arg_k,
        dsp_tot, bram_tot, ddr_tot, scan=False):
    """DP over chunk cuts at period `t`: each chunk takes its least-DSP engine meeting `t` (with `scan`, its
    cheapest engine meeting `t` at the prices); the cut minimises w_dsp*DSP + w_bram*BRAM + w_ddr*DDR
    bytes. Fills arg_w/arg_k and the totals; False if some unit cannot meet t."""
    f[0] = 0.0
    dsp_tot[0] = 0.0
    bram_tot[0] = 0.0
    ddr_tot[0] = 0.0
    for u in range(1, nu + 1):
        f[u] = INF
        for w in range(1, wmax + 1):
            if u - w < 0:
                break
            if f[u - w] >= INF:
                continue
            c = (u - w) * wmax + (w - 1)
            m = fr_len[c]
            if m == 0 or fr_time[fr_off[c] + m - 1] > t:
                continue
            a = 0
            b = m - 1
            while a < b:
                mid = (a + b) // 2
                if fr_time[fr_off[c] + mid] <= t:
                    b = mid
                else:
                    a = mid + 1
            # engines meeting t are frontier points a..m-1 (more DSP, less time); the least-DSP one is a.
            # With BRAM priced, a larger engine may need fewer BRAM blocks: take the cheapest at the prices.
            price = w_dsp * fr_dsp[fr_off[c] + a] + w_bram * fr_bram[fr_off[c] + a]
            if scan:
                for k in range(a + 1, m):
                    pk = w_dsp * fr_dsp[fr_off[c] + k] + w_bram * fr_bram[fr_off[c] + k]
                    if pk < price:
                        price = pk
                        a = k
            cost = f[u - w] + price + w_ddr * cand_bytes[c]
            if cost < f[u]:
                f[u] = cost
                arg_w[u] = w
                arg_k[u] = a
                dsp_tot[u] = dsp_tot[u - w] + fr_dsp[fr_off[c] + a]
                bram_tot[u] = bram_tot[u - w] + fr_bram[fr_off[c] + a]
                ddr_tot[u] = ddr_tot[u - w] + cand_bytes[c]
    return f[nu] < INF


@njit(cache=True)
def _feasible(t, nu, wmax, fr_len, fr_off, fr_time, fr_dsp, fr_bram, cand_bytes, dsp_budget, bram_budget, ddr_budget, f,
              arg_w, arg_k, dsp_tot, bram_tot, ddr_tot, dsp_scale, bram_scale):
    """Is there a cut meeting period t within the DSP, BRAM and per-period DDR budgets? The least-DSP cut
    (BRAM, DDR as tie-breaks; exact for DSP) is tried first; if it breaks the BRAM or DDR budget, cuts that
    minimise DSP/dsp_scale + lam * (BRAM/bram_scale + DDR/ddr_budget) are tried for a fixed grid of prices
    lam, then BRAM-only and DDR-only pricing (a Lagrangian heuristic; priced chunks may take a larger
    engine that needs fewer BRAM blocks). The scales are device totals, not budgets, and the frontiers
    span every engine of the device, so the cuts tried at t do not depend on the DSP budget: a larger
    budget accepts every cut a smaller one accepted (feasibility is monotone in the DSP budget at each t).
    The chosen cut is left in arg_w/arg_k."""
    if not _dp(t, nu, wmax, fr_len, fr_off, fr_time, fr_dsp, fr_bram, cand_bytes, 1.0, 1e-9, 1e-12, f, arg_w, arg_k,
               dsp_tot, bram_tot, ddr_tot):
        return False
    if dsp_tot[nu] > dsp_budget:
        return False
    if bram_tot[nu] <= bram_budget and ddr_tot[nu] <= ddr_budget:
        return True
    # Exact shortcut before the price grid: a chunk's DDR bytes do not depend on its engine, so the cut of least
    # DDR traffic among those meeting t bounds every cut the grid can try; above the budget, none fits (the same
    # answer as the grid, found with one DP instead of eleven; the slack covers summation order).
    if ddr_tot[nu] > ddr_budget:
        _dp(t, nu, wmax, fr_len, fr_off, fr_time, fr_dsp, fr_bram, cand_bytes, 1e-12, 1e-12, 1.0, f, arg_w, arg_k,
            dsp_tot, bram_tot, ddr_tot)
        if ddr_tot[nu] > ddr_budget * (1.0 + 1e-9):
            return False
    for j in range(11):
        if j < 9:
            lam = 10.0 ** (-2.0 + 0.5 * j)
            wb = lam / bram_scale
            wd = lam / ddr_budget
        elif j == 9:
            wb = 1e3 / bram_scale
            wd = 1e-12
        else:
            wb = 1e-9
            wd = 1e3 / ddr_budget
        _dp(t, nu, wmax, fr_len, fr_off, fr_time, fr_dsp, fr_bram, cand_bytes, 1.0 / dsp_scale, wb, wd, f, arg_w,
            arg_k, dsp_tot, bram_tot, ddr_tot, True)
        if dsp_tot[nu] <= dsp_budget and bram_tot[nu] <= bram_budget and ddr_tot[nu] <= ddr_budget:
            return True
    return False


@njit(cache=True)
def _probe(t, t_dsp, nu, wmax, fr_len, fr_off, fr_time, fr_dsp, fr_bram, cand_bytes, dsp_budget, bram_budget,
           ddr_bpc, f, arg_w, arg_k, dsp_tot, bram_tot, ddr_tot, dsp_dev, bram_dev, best_w, best_k):
    """One probe of the period search: whether a design meets period t (never below t_dsp, where no design
    fits the DSP budget); a design that does is copied into best_w / best_k."""
    if t < t_dsp or not _feasible(t, nu, wmax, fr_len, fr_off, fr_time, fr_dsp, fr_bram, cand_bytes, dsp_budget,
                                  bram_budget, ddr_bpc * t, f, arg_w, arg_k, dsp_tot, bram_tot, ddr_tot, dsp_dev,
                                  bram_dev):
        return False
    best_w[:] = arg_w
    best_k[:] = arg_k
    return True


@njit(cache=True)
def engine_order(tn_arr, tm_arr, dsp_arr, dsp_budget):
    """Engines within the DSP budget, by DSP (ties: fewer input lanes first)."""
    ne = tn_arr.shape[0]
    order_all = np.argsort(dsp_arr * 1e6 + tn_arr * 1e3 + tm_arr)
    k = 0
    for oi in range(ne):
        if dsp_arr[order_all[oi]] <= dsp_budget:
            k += 1
    order = np.empty(k, np.int64)
    k = 0
    for oi in range(ne):
        if dsp_arr[order_all[oi]] <= dsp_budget:
            order[k] = order_all[oi]
            k += 1
    return order


@njit(cache=True)
def engine_tables(rows, order, tn_arr, tm_arr, dsp_arr, hw):
    """Per (layer row, engine in `order`): compute cycles and buffer BRAM, engine-minor; and per row the
    least DSP x cycles any engine needs. Shared by every network that uses the rows."""
    n = rows.shape[0]
    ne2 = order.shape[0]
    cyc_tab = np.empty((n, ne2))
    bram_tab = np.empty((n, ne2))
    least_tab = np.empty(n)
    for i in range(n):
        consts = bram_consts(rows[i], hw)
        least = INF
        for q in range(ne2):
            e = order[q]
            cyc = layer_cycles(rows[i], tn_arr[e], tm_arr[e], hw[HW_DW_PER_GROUP] > 0)
            cyc_tab[i, q] = cyc
            bram_tab[i, q] = bram_on_engine(consts, tn_arr[e], tm_arr[e], hw)
            if cyc * dsp_arr[e] < least:
                least = cyc * dsp_arr[e]
        least_tab[i] = least
    return cyc_tab, bram_tab, least_tab


@njit(cache=True)
def design(rows, tn_arr, tm_arr, dsp_arr, hw, with_layerwise=True):
    """Best chunked pipeline for the (non-free) layer rows under the budgets in `hw`; see `design_tables`."""
    order = engine_order(tn_arr, tm_arr, dsp_arr, hw[HW_DSP_DEVICE])
    cyc_tab, bram_tab, least_tab = engine_tables(rows, order, tn_arr, tm_arr, dsp_arr, hw)
    ids = np.arange(rows.shape[0])
    return design_tables(rows, ids, cyc_tab, bram_tab, least_tab, order, tn_arr, tm_arr, dsp_arr, hw, with_layerwise)


@njit(cache=True)
def design_tables(rows, ids, cyc_tab, bram_tab, least_tab, order, tn_arr, tm_arr, dsp_arr, hw, with_layerwise):
    """Best chunked pipeline for the (non-free) layer rows under the budgets in `hw`; row i's engine
    tables are row ids[i] of cyc_tab / bram_tab / least_tab (from `engine_tables` over `order`).

    Returns (status, period_cycles, chunk_of_layer, engine_of_chunk, n_chunks, layer_cycles_on_design,
    stage_cycles, chunk_bram, chunk_bytes, short_layer, short_amount).
    status 0: ok; 1: BRAM cannot fit (short_layer = the layer with the largest minimum need, short_amount =
    BRAM36 short of the budget for the least-BRAM design); 2: DSP cannot fit (short_amount = DSPs short).
    """
    n = rows.shape[0]
    wbytes = hw[HW_WORD_BYTES]
    ddr_bpc = hw[HW_DDR_BYTES]
    ovh = hw[HW_OVERHEAD]
    dsp_budget = hw[HW_DSP_BUDGET]
    bram_budget = hw[HW_BRAM_BUDGET]
    wmax = int(hw[HW_MAX_UNITS])
    chunk_fixed_bram = hw[HW_CHUNK_BRAM]
    dsp_dev = hw[HW_DSP_DEVICE]
    bram_dev = hw[HW_BRAM_DEVICE]
    ne2 = order.shape[0]

    starts, nu = unit_starts(rows)

    # prefix sums over layers of the per-engine cycles (engine-minor: the frontier loops read rows)
    pref = np.empty((n + 1, ne2))
    pref[0, :] = 0.0
    dsp_cycles = 0.0  # sum over layers of the least DSP x cycles any engine needs: a period lower bound
    for i in range(n):
        r = ids[i]
        for q in range(ne2):
            pref[i + 1, q] = pref[i, q] + cyc_tab[r, q]
        dsp_cycles += least_tab[r]
    wsum = np.zeros(n + 1)
    nls = np.zeros(n + 1)
    for i in range(n):
        wsum[i + 1] = wsum[i] + rows[i, WEIGHTS] * wbytes
        kk = rows[i, KIND]
        nls[i + 1] = nls[i] + (1.0 if (kk != FREE and kk != ADD) else 0.0)

    # chunk candidates: units [u, u + w), w = 1..wmax; frontier of (dsp, time) over engines
    ncand = nu * wmax
    # frontiers stored flat (candidate c at fr_off[c]); capacity grows on demand, so memory stays ~ the sum
    # of frontier lengths rather than candidates x engines
    fr_len = np.zeros(ncand, np.int64)
    fr_off = np.zeros(ncand, np.int64)
    cap = ncand * 24 + ne2
    fr_time = np.empty(cap)
    fr_dsp = np.empty(cap)
    fr_eng = np.empty(cap, np.int64)
    fr_bram = np.empty(cap)
    used = 0
    cand_bytes = np.zeros(ncand)
    cmax = np.zeros(ne2)
    for u in range(nu):
        cmax[:] = 0.0
        byt = 0.0
        for w in range(1, wmax + 1):
            if u + w > nu:
                break
            c = u * wmax + (w - 1)
            l0 = starts[u]
            l1 = starts[u + w]
            lprev = starts[u + w - 1]
            for i in range(lprev, l1):
                r = ids[i]
                for q in range(ne2):
                    if bram_tab[r, q] > cmax[q]:
                        cmax[q] = bram_tab[r, q]
            # DDR traffic per frame: weights, maps between layers inside the chunk (written and read back;
            # an add reads only its extra operands), network input/output at the pipeline ends
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
            fixed = ovh * (nls[l1] - nls[l0])
            best = INF
            m = 0
            if used + ne2 > cap:
                cap = 2 * cap + ne2
                fr_time = _grow_f(fr_time, cap, used)
                fr_dsp = _grow_f(fr_dsp, cap, used)
                fr_bram = _grow_f(fr_bram, cap, used)
                fr_eng = _grow_i(fr_eng, cap, used)
            fr_off[c] = used
            for q in range(ne2):
                comp = pref[l1, q] - pref[l0, q]
                t = (comp if comp > mem_cycles else mem_cycles) + fixed
                if t < best:
                    best = t
                    fr_time[fr_off[c] + m] = t
                    fr_dsp[fr_off[c] + m] = dsp_arr[order[q]]
                    fr_eng[fr_off[c] + m] = order[q]
                    fr_bram[fr_off[c] + m] = cmax[q] + chunk_fixed_bram
                    m += 1
            fr_len[c] = m
            used += m

    f = np.empty(nu + 1)
    arg_w = np.zeros(nu + 1, np.int64)
    arg_k = np.zeros(nu + 1, np.int64)
    dsp_tot = np.zeros(nu + 1)
    bram_tot = np.zeros(nu + 1)
    ddr_tot = np.zeros(nu + 1)
    empty_i = np.zeros(1, np.int64)
    empty_f = np.zeros(1)

    # BRAM feasibility: the least-BRAM design at an unbounded period
    _dp(INF / 2, nu, wmax, fr_len, fr_off, fr_time, fr_dsp, fr_bram, cand_bytes, 1e-9, 1.0, 0.0, f, arg_w, arg_k,
        dsp_tot, bram_tot, ddr_tot)
    if bram_tot[nu] > bram_budget:
        worst = 0
        worst_b = -1.0
        for i in range(n):
            if bram_tab[ids[i], 0] > worst_b:
                worst_b = bram_tab[ids[i], 0]
                worst = i
        return (1, 0.0, empty_i, empty_i, 0, empty_f, empty_f, empty_f, empty_f, worst, bram_tot[nu] - bram_budget)

    # bisection on the period T: a design meets T when every stage does, it fits the DSP and BRAM budgets
    # and its DDR traffic per frame fits in T (see _feasible).
    lo = 0.0
    hi = 0.0
    for u in range(nu):
        c = u * wmax
        if fr_time[fr_off[c] + fr_len[c] - 1] > lo:
            lo = fr_time[fr_off[c] + fr_len[c] - 1]
        hi += fr_time[fr_off[c] + 0]
    # every design moves at least all weights plus the network input and output through the DDR, and
    # needs at least (least DSP x cycles summed over layers) / DSP budget per frame
    min_bytes = wsum[n] + rows[0, IN_EL] * wbytes + rows[n - 1, OUT_EL] * wbytes
    if min_bytes / ddr_bpc > lo:
        lo = min_bytes / ddr_bpc
    if hi < lo:
        hi = lo
    # Below this period no design fits the DSP budget (each layer needs its least DSP x cycles); probes
    # under it are infeasible without a DP. It is not used to place the probes: the probe points depend on
    # the layers and the device only, and feasibility at a point is monotone in the DSP budget, so a larger
    # budget follows the same probes until it meets a period the smaller one could not, and ends at a
    # period no larger (more DSP never lowers the throughput the search finds).
    t_dsp = dsp_cycles / dsp_budget
    # Likewise below the least DDR traffic of any cut (chunk bytes do not depend on engines) over the DDR rate: an
    # exact rejection that spares DDR-bound networks the DPs of the probes under it (probe points unchanged).
    _dp(INF / 2, nu, wmax, fr_len, fr_off, fr_time, fr_dsp, fr_bram, cand_bytes, 1e-12, 1e-12, 1.0, f, arg_w, arg_k,
        dsp_tot, bram_tot, ddr_tot)
    t_dsp = max(t_dsp, ddr_tot[nu] / ddr_bpc * (1.0 - 1e-9))
    best_w = np.zeros(nu + 1, np.int64)
    best_k = np.zeros(nu + 1, np.int64)
    # bracket: grow T from the lower bound by 25 % steps until a design meets it, then bisect to 0.1 %
    found = False
    t_lo = lo * (1.0 - 1e-12)
    t = lo
    while True:
        if _probe(t, t_dsp, nu, wmax, fr_len, fr_off, fr_time, fr_dsp, fr_bram, cand_bytes, dsp_budget, bram_budget,
                  ddr_bpc, f, arg_w, arg_k, dsp_tot, bram_tot, ddr_tot, dsp_dev, bram_dev, best_w, best_k):
            found = True
            break
        if t > hi * 4.0:  # t_dsp <= hi: dsp_cycles is at most the 1 x 1 engines' cycles
            break
        t_lo = t
        t *= 1.25
    t_hi = t
    while found and t_hi - t_lo > 1e-3 * t_hi:
        t = math.sqrt(t_lo * t_hi)
        if _probe(t, t_dsp, nu, wmax, fr_len, fr_off, fr_time, fr_dsp, fr_bram, cand_bytes, dsp_budget, bram_budget,
                  ddr_bpc, f, arg_w, arg_k, dsp_tot, bram_tot, ddr_tot, dsp_dev, bram_dev, best_w, best_k):
            t_hi = t
        else:
            t_lo = t
    if not found:
        # too few DSPs for even one lane per chunk on the fewest chunks the search allows
        _dp(INF / 2, nu, wmax, fr_len, fr_off, fr_time, fr_dsp, fr_bram, cand_bytes, 1.0, 1e-9, 0.0, f, arg_w, arg_k,
            dsp_tot, bram_tot, ddr_tot)
        return (2, 0.0, empty_i, empty_i, 0, empty_f, empty_f, empty_f, empty_f, 0, dsp_tot[nu] - dsp_budget)

    # reconstruct the design
    chunk_of_layer = np.zeros(n, np.int64)
    eng_rev = np.zeros(nu, np.int64)
    cand_rev = np.zeros(nu, np.int64)
    nch = 0
    u = nu
    while u > 0:
        w = best_w[u]
        c = (u - w) * wmax + (w - 1)
        eng_rev[nch] = fr_eng[fr_off[c] + best_k[u]]
        cand_rev[nch] = c
        nch += 1
        u -= w
    engine_of_chunk = np.zeros(nch, np.int64)
    stage = np.zeros(nch)
    chunk_bram = np.zeros(nch)
    chunk_bytes = np.zeros(nch)
    lcyc = np.zeros(n)
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
        bram = 0.0
        comp = 0.0
        for i in range(l0, l1):
            chunk_of_layer[i] = j
            cyc = layer_cycles(rows[i], tn_arr[e], tm_arr[e], hw[HW_DW_PER_GROUP] > 0)
            comp += cyc
            if with_layerwise:
                lcyc[i] = layerwise_cycles(rows[i], tn_arr, tm_arr, dsp_arr, hw)
            b = layer_buffer_bram(rows[i], tn_arr[e], tm_arr[e], hw)
            if b > bram:
                bram = b
        chunk_bram[j] = bram + chunk_fixed_bram
        chunk_bytes[j] = cand_bytes[c]
        tot_bytes += cand_bytes[c]
        stage[j] = max(comp, cand_bytes[c] / ddr_bpc) + ovh * (nls[l1] - nls[l0])
        if stage[j] > period:
            period = stage[j]
    # all chunks share the DDR: a frame's traffic must fit in one period
    if tot_bytes / ddr_bpc > period:
        period = tot_bytes / ddr_bpc
    return (0, period, chunk_of_layer, engine_of_chunk, nch, lcyc, stage, chunk_bram, chunk_bytes, -1, 0.0)


@njit(cache=True)
def evaluate_batch(layer_rows, sequences, lengths, tn_arr, tm_arr, dsp_arr, hw):
    """Per network i (rows sequences[i, :lengths[i]]): (status, layerwise latency cycles, period cycles,
    total MACs). Engine tables and each row's `layerwise_cycles` depend on the layer alone, so they are computed
    once per row (a separable_blocks composition then combines them per network); free layers are dropped
    before the DSE as `map_network` drops them."""
    nnet = sequences.shape[0]
    status = np.zeros(nnet, np.int64)
    lat = np.zeros(nnet)
    per = np.zeros(nnet)
    macs = np.zeros(nnet)
    ncol = layer_rows.shape[1]
    lw = np.empty(layer_rows.shape[0])
    for j in range(layer_rows.shape[0]):
        lw[j] = layerwise_cycles(layer_rows[j], tn_arr, tm_arr, dsp_arr, hw)
    layer_sum = hw[HW_COMPOSITION] == LAYER_SUM
    # engines of the whole device (not the budget): the DSE's candidate designs then do not depend on it
    order = engine_order(tn_arr, tm_arr, dsp_arr, hw[HW_DSP_DEVICE])
    cyc_tab, bram_tab, least_tab = engine_tables(layer_rows, order, tn_arr, tm_arr, dsp_arr, hw)
    for i in range(nnet):
        m = 0
        for j in range(lengths[i]):
            if layer_rows[sequences[i, j], KIND] != FREE:
                m += 1
        if m == 0:
            continue
        rows = np.empty((m, ncol))
        ids = np.empty(m, np.int64)
        k = 0
        for j in range(lengths[i]):
            r = layer_rows[sequences[i, j]]
            if r[KIND] != FREE:
                rows[k] = r
                ids[k] = sequences[i, j]
                macs[i] += r[MACS]
                k += 1
        if layer_sum:
            for k in range(m):
                lat[i] += lw[ids[k]]
        else:
            lat[i] = composed_cycles(rows, lw[ids], hw).sum()
        res = design_tables(rows, ids, cyc_tab, bram_tab, least_tab, order, tn_arr, tm_arr, dsp_arr, hw, False)
        status[i] = res[0]
        if res[0] == 0:
            per[i] = res[1]
    return status, lat, per, macs
