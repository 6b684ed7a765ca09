"""Generic-paradigm mapper (mappers/generic.py): specs, known answers, brute-force optimality, invariants,
monotonicity in every resource, the evaluate_mapping / best_mapping API and bad input."""

from __future__ import annotations

import itertools
import math

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accelmodel.estimate import estimate
from accelmodel.validation import e2e_perf_compare
from accelmodel.mappers import generic as gm
from accelmodel.mappers import generic_kernels as gk
from accelmodel.specs import SpecError, load_spec
from accelmodel.workloads import get
from accelmodel.workloads.graph import concat, conv2d, elementwise, linear, pool

BUDGET_SPECS = ("generic-small", "generic-medium", "generic-large")
ALL_SPECS = BUDGET_SPECS + ("nahas-edge",)
NETWORKS = ("alexnet", "vgg16", "resnet18", "resnet50", "mobilenet_v2")
FAST = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def cfg(spec="nahas-edge", **overrides):
    return gm.configure(load_spec(spec), overrides or None)


def objective_value(cost, objective):
    energy = sum(cost.energy_j.values())
    return {"latency": cost.cycles, "energy": energy, "edp": cost.cycles * energy}[objective]


# ---- specs and known answers ---------------------------------------------------------------------

def test_nahas_baseline_peak_is_26_tops():
    c = cfg()
    # 4x4 PEs x 4 lanes x 64 SIMD units x 4 ways = 16,384 int8 MACs per cycle
    assert c.peak_macs_per_cycle == 4 * 4 * 4 * 64 * 4 == 16384
    assert c.peak_tops == pytest.approx(16384 * 2 * 0.8e9 / 1e12)   # 26.2144
    assert round(c.peak_tops) == 26


def test_budget_specs_engine_size():
    for name, dsp, mbit in (("generic-small", 1400, 46), ("generic-medium", 2400, 70), ("generic-large", 4800, 141)):
        c = cfg(name)
        assert c.kind == "budget" and c.pes == 1 and c.lanes == 1
        assert c.simd_units == dsp // 16 and c.simd_width == 16        # floor(DSP / 1 DSP per MAC / 16 ways)
        assert c.peak_macs_per_cycle <= dsp
        assert c.local_memory_bytes == pytest.approx(mbit * 2**20 / 8)
        assert c.clock_hz == 200e6
        assert c.io_bandwidth_gbps == pytest.approx(12.8)                 # DDR3-1600 x 64 bit


def test_nahas_baseline_area_by_hand():
    """The area model's formula evaluated by hand for the baseline (7 nm figures of the spec)."""
    a = load_spec("nahas-edge").data["area_model"]
    pes, lanes = 16, 64
    by_hand = (pes * (2 * a["sram_mm2_per_mb"] + a["pe_overhead_mm2"])
               + lanes * (32 * a["rf_mm2_per_kb"] + 64 * 4 * a["mac_mm2"] + a["lane_overhead_mm2"])
               + 25 * a["io_mm2_per_gbps"])
    assert cfg().area_mm2 == pytest.approx(by_hand)
    assert cfg().area_mm2 == pytest.approx(22.66, abs=0.01)
    assert a["technology_nm"] == 7


def test_specs_match_reference_budgets_and_nahas_baseline(reference):
    ref = yaml.safe_load((reference / "board_measurements.yaml").read_text())
    for size in ("small", "medium", "large"):
        spec = load_spec(f"generic-{size}").data
        assert spec["budget"]["dsp"] == ref["e2e_perf_budgets"][size]["dsp"]
        assert spec["budget"]["on_chip_mbit"] == ref["e2e_perf_budgets"][size]["on_chip_mbit"]
    base = ref["nahas_edge_accelerator"]["baseline"]
    c = cfg()
    assert (c.pes_x, c.pes_y, c.lanes, c.simd_units, c.simd_width) == (
        base["pes_x"], base["pes_y"], base["compute_lanes"], base["simd_units"], base["simd_width"])
    assert c.local_memory_bytes == base["local_memory_mb"] * 2**20
    assert c.register_file_bytes == base["register_file_kb"] * 1024
    assert c.clock_hz == pytest.approx(base["clock_ghz"] * 1e9)
    assert round(c.peak_tops) == base["peak_tops_int8"]
    space = load_spec("nahas-edge").data["search_space"]
    assert space == ref["nahas_edge_accelerator"]["search_space"]
    assert math.prod(len(v) for v in space.values()) == 50_000


def test_vgg16_on_a_zc706_budget_is_plausible(reference):
    """The generic engine with a ZC706's resources (900 DSPs, 545 x 36 Kb BRAM) against the published VGG16
    designs on that board (HW-NAS-Bench Table 8): a reusable engine should reach the same order of throughput
    (it pays layer-by-layer DRAM round trips the pipelined designs avoid) and never exceed its own peak."""
    ref = yaml.safe_load((reference / "board_measurements.yaml").read_text())["zc706_fpga_vgg16"]
    published = [impl["gop_per_s"] for impl in ref["implementations"]]
    mbit = ref["device"]["bram_36kb"] * 36 * 1024 / 2**20
    est = estimate("vgg16", "generic-small", budget={"dsp": ref["device"]["dsp_slices"], "on_chip_mbit": mbit})
    gops = 2 * get("vgg16").macs / (est.latency_ms * 1e-3) / 1e9
    peak = 2 * (900 // 16) * 16 * 0.2
    assert gops <= peak
    assert 0.5 * min(published) <= gops <= 1.5 * max(published), (gops, published)


# ---- whole networks --------------------------------------------------------------------------------

@pytest.mark.parametrize("network", NETWORKS)
def test_large_le_medium_le_small_and_above_peak_bound(network):
    graph = get(network)
    macs = graph.macs
    lat = {}
    for spec in ALL_SPECS:
        est = estimate(graph, spec)
        c = cfg(spec)
        lat[spec] = est.latency_ms
        assert est.latency_ms >= macs / c.peak_macs_per_cycle / c.clock_hz * 1e3 * (1 - 1e-12)
        assert est.energy_mj > 0
        assert (est.layers["utilization"] <= 1 + 1e-12).all()
    assert lat["generic-large"] <= lat["generic-medium"] <= lat["generic-small"]


def test_vgg16_figures_are_stable():
    """Regression figures of the model (not published data): VGG16 batch 1, latency objective."""
    got = {spec: estimate("vgg16", spec).latency_ms for spec in ALL_SPECS}
    assert got["generic-small"] == pytest.approx(82.62, rel=1e-3)
    assert got["generic-medium"] == pytest.approx(62.90, rel=1e-3)
    assert got["generic-large"] == pytest.approx(50.06, rel=1e-3)
    assert got["nahas-edge"] == pytest.approx(7.04, rel=1e-3)


def test_layer_additive_and_streamed_layers():
    g = get("resnet18")
    est = estimate(g, "nahas-edge")
    assert est.latency_ms == pytest.approx(est.layers["latency_ms"].sum())
    c = cfg()
    p = pool("p", (1, 64, 56, 56), "max", kernel=3, stride=2, padding=1)
    cost = gm.map_layer(p, c, "latency")
    units = c.pes * c.lanes * c.simd_units
    bpc = c.bytes_per_cycle
    assert cost.cycles == pytest.approx(max(math.ceil(p.window_ops / units),
                                            (p.input_elements + p.output_elements) * c.word_bytes / bpc))
    ident = elementwise("i", "identity", (1, 8, 4, 4))
    assert gm.map_layer(ident, c, "latency").cycles == 0
    cat = concat("cat", [(1, 8, 4, 4), (1, 8, 4, 4)])
    assert gm.map_layer(cat, c, "latency").cycles == 0 and gm.map_layer(cat, c, "energy").energy_total_j == 0


def test_dilated_conv_has_the_taps_of_its_kernel_and_the_halo_of_its_span():
    """A 3x3 kernel with dilation 2 (DARTS dil_conv) does the MACs of a 3x3 kernel, and its tiles fetch the input
    span of a 5x5 window: in the vector only the span fields (and the 'same' padding) change, and a row tile of
    one output row reads five input rows, not three."""
    dil = conv2d("dil", (1, 16, 16, 16), 16, 3, 1, dilation=2, groups=16)
    plain = conv2d("dw", (1, 16, 16, 16), 16, 3, 1, groups=16)
    assert dil.padding == (2, 2) and dil.out_shape == plain.out_shape and dil.macs == plain.macs
    v_dil, v_plain = gm.layer_vector(dil), gm.layer_vector(plain)
    assert (v_dil[gk.L_RX], v_dil[gk.L_SX], v_plain[gk.L_RX]) == (5, 5, 3)
    same = [i for i in range(gk.LAYER_FIELDS) if i not in (gk.L_RX, gk.L_SX, gk.L_PH, gk.L_PW)]
    assert list(v_dil[same]) == list(v_plain[same]) and (v_dil[gk.L_PH], v_plain[gk.L_PH]) == (2, 1)
    need = gk.buffer_need(v_dil, 16, 1, 1, 16, 1, 1, 2, 4) - gk.buffer_need(v_plain, 16, 1, 1, 16, 1, 1, 2, 4)
    assert need == 2 * 2 * 16 * (5 - 3) * 16     # double-buffered, 2 B words: two more rows of 16 channels x 16
    for spec in BUDGET_SPECS:
        assert estimate_layer(dil, spec) >= estimate_layer(plain, spec)


def estimate_layer(layer, spec):
    return gm.map_layer(layer, cfg(spec), "latency").cycles


# ---- double buffering and the energy reference table ------------------------------------------------

def test_single_tile_latency_is_load_compute_drain():
    """One tile: nothing overlaps, latency = load weights+inputs, compute, drain outputs."""
    layer = conv2d("c", (1, 8, 6, 6), 16, kernel=1, padding=0)
    c = cfg(pes_x=1, pes_y=1, compute_lanes=1, simd_units=4, io_bandwidth_gbps=1.6)  # 2 B/cycle at 0.8 GHz
    m = {"order": "weight_stationary", "tile": {"K": 16, "C": 8, "P": 6, "Q": 6}, "pe_split": {"K": 1, "P": 1},
         "lane_split": "K"}
    cost = gm.evaluate_mapping(layer, c, m)
    bpc = 2.0
    compute = math.ceil(16 / 4) * math.ceil(8 / 4) * 36
    expect = (16 * 8 + 8 * 36) / bpc + compute + 16 * 36 / bpc
    assert cost.cycles == pytest.approx(expect)
    assert cost.extra["tile_steps"] == 1


def test_two_tiles_overlap_transfer_with_compute():
    """Two output-channel tiles, weight-stationary: the second tile's weights load while the first computes,
    so that step costs max(compute, transfer); the first tile's outputs drain while the second computes."""
    layer = conv2d("c", (1, 8, 6, 6), 16, kernel=1, padding=0)
    base = {"order": "weight_stationary", "tile": {"K": 8, "C": 8, "P": 6, "Q": 6}, "pe_split": {"K": 1, "P": 1},
            "lane_split": "K"}
    for gbps in (0.08, 1.6, 80.0):          # transfer-bound, mixed, compute-bound
        c = cfg(pes_x=1, pes_y=1, compute_lanes=1, simd_units=4, io_bandwidth_gbps=gbps)
        bpc = gbps / 0.8
        compute = math.ceil(8 / 4) * math.ceil(8 / 4) * 36      # per tile
        w, i, o = 8 * 8, 8 * 36, 8 * 36                           # bytes per tile
        # prologue: first weights + all inputs (they stay resident: no c or pixel loop moves them);
        # transition: next weights in, first outputs out; then the last compute and the last drain
        expect = (w + i) / bpc + max(compute, (w + o) / bpc) + compute + o / bpc
        cost = gm.evaluate_mapping(layer, c, base)
        assert cost.cycles == pytest.approx(expect), gbps
        assert cost.cycles >= max(2 * compute, (2 * w + i + 2 * o) / bpc) - 1e-9
        assert cost.accesses["dram"] == 2 * w + i + 2 * o


def test_overlapped_layer_boundaries_hide_the_first_load_and_the_last_drain():
    """options.layer_boundaries = overlapped: the steady-state steps only, but never less than the layer's
    DRAM bytes over the bandwidth (the prologue and drain still use the interface, during the neighbours)."""
    layer = conv2d("c", (1, 8, 6, 6), 16, kernel=1, padding=0)
    one = {"order": "weight_stationary", "tile": {"K": 16, "C": 8, "P": 6, "Q": 6}, "pe_split": {"K": 1, "P": 1},
           "lane_split": "K"}
    two = {**one, "tile": {"K": 8, "C": 8, "P": 6, "Q": 6}}
    for gbps in (0.08, 1.6, 80.0):
        serial = cfg(pes_x=1, pes_y=1, compute_lanes=1, simd_units=4, io_bandwidth_gbps=gbps)
        hidden = cfg(pes_x=1, pes_y=1, compute_lanes=1, simd_units=4, io_bandwidth_gbps=gbps,
                     **{"options.layer_boundaries": "overlapped"})
        bpc = gbps / 0.8
        # one tile: compute alone, or all of its bytes
        compute = math.ceil(16 / 4) * math.ceil(8 / 4) * 36
        assert gm.evaluate_mapping(layer, hidden, one).cycles == pytest.approx(
            max(compute, (16 * 8 + 8 * 36 + 16 * 36) / bpc))
        # two tiles: one overlapped transition and the last compute, at least every byte's transfer
        compute = math.ceil(8 / 4) * math.ceil(8 / 4) * 36
        w, i, o = 8 * 8, 8 * 36, 8 * 36
        steady = max(compute, (w + o) / bpc) + compute
        cost = gm.evaluate_mapping(layer, hidden, two)
        assert cost.cycles == pytest.approx(max(steady, (2 * w + i + 2 * o) / bpc)), gbps
        assert cost.extra["stall_fraction"] * cost.cycles == pytest.approx(cost.cycles - 2 * compute)
        # same traffic and energy as serial boundaries, never slower
        ref = gm.evaluate_mapping(layer, serial, two)
        assert cost.accesses == ref.accesses and cost.energy_j == ref.energy_j
        assert cost.cycles <= ref.cycles


def test_an_input_word_is_shared_only_by_the_channels_a_lane_holds():
    """Input operand reads: one per lane pass of the SIMD units over the channels of the step's K tile, so a
    K tile narrower than the units shares an input among fewer of them (FC 64 -> 10 on 87 SIMD units)."""
    layer = linear("fc", (1, 64, 1, 1), 10)
    c = cfg("generic-small")                     # 87 units x 16 ways, one lane, psums per 16 MACs
    macs = 640
    for tk, passes in ((10, 1), (5, 2), (2, 5), (4, 3)):     # passes of the K tiles: 10 | 5+5 | 2 x 5 | 4+4+2
        m = {"order": "weight_stationary", "tile": {"K": tk, "C": 64, "P": 1, "Q": 1},
             "pe_split": {"K": 1, "P": 1}, "lane_split": "K"}
        cost = gm.evaluate_mapping(layer, c, m)
        in_reads = macs / 10 * passes
        assert cost.accesses["rf"] == pytest.approx(macs + in_reads + 2 * macs / 16), tk
    # depthwise: every MAC reads its own input
    dw = conv2d("dw", (1, 8, 6, 6), 8, kernel=3, groups=8, padding=0)
    m = {"order": "weight_stationary", "tile": {"K": 8, "C": 1, "P": 4, "Q": 4}, "pe_split": {"K": 1, "P": 1},
         "lane_split": "K"}
    cost = gm.evaluate_mapping(dw, c, m)
    assert cost.accesses["rf"] == pytest.approx(dw.macs + dw.macs + 2 * dw.macs / 9)


def test_energy_is_accesses_times_reference_table():
    layer = conv2d("c", (1, 32, 14, 14), 64, kernel=3)
    for spec in ("nahas-edge", "generic-medium"):
        c = cfg(spec)
        cost = gm.map_layer(layer, c, "energy")
        assert cost.energy_j["mac"] == pytest.approx(layer.macs * c.e_mac)
        assert cost.accesses["mac"] == layer.macs
        # DRAM: words at word width (no partial-sum spills in the energy-best mapping of this small layer)
        if cost.extra["order"] == "output_stationary" or cost.extra["tile_c"] == 32:
            assert cost.energy_j["dram"] == pytest.approx(cost.accesses["dram"] * c.word_bytes * c.e_dram)
        # every weight, input and output crosses the DRAM interface at least once
        floor_bytes = (layer.params + layer.input_elements + layer.output_elements) * c.word_bytes
        assert cost.energy_j["dram"] >= floor_bytes * c.e_dram * (1 - 1e-9)
        for level in ("rf", "glb"):
            assert cost.energy_j[level] > 0


# ---- brute-force optimality -----------------------------------------------------------------------

def brute_force(layer, c, objective):
    """Every mapping of the space in pure Python (tiles 1..D with an allowed trip count, every PE split
    pk x pp <= pes, both lane splits, three orders), costed with evaluate_mapping."""
    vec = gm.layer_vector(layer)
    dims = {"K": int(vec[gk.L_K]), "C": int(vec[gk.L_CG]), "P": int(vec[gk.L_P]), "Q": int(vec[gk.L_Q])}
    pow2 = c.mapspace == "pow2"

    def tiles(d):
        out = []
        for t in range(1, d + 1):
            n = -(-d // t)
            if not pow2 or n == d or n & (n - 1) == 0:
                out.append(t)
        return out

    best = math.inf
    for pk in range(1, c.pes + 1):
        for pp in range(1, c.pes // pk + 1):
            for lane in (gk.LANE_SPLITS if c.lanes > 1 else ("K",)):
                for tk, tc, tp, tq in itertools.product(*(tiles(dims[d]) for d in "KCPQ")):
                    need = gk.buffer_need(vec, tk, tc, tp, tq, pk, pp, c.word_bytes, c.psum_bytes)
                    if need > c.local_memory_bytes:
                        continue
                    for order in gk.ORDER_NAMES:
                        m = {"order": order, "tile": {"K": tk, "C": tc, "P": tp, "Q": tq},
                             "pe_split": {"K": pk, "P": pp}, "lane_split": lane}
                        best = min(best, objective_value(gm.evaluate_mapping(layer, c, m), objective))
    return best


@st.composite
def tiny_case(draw):
    kind = draw(st.sampled_from(["conv", "conv", "depthwise", "grouped", "linear", "dilated"]))
    C = draw(st.integers(1, 5)) if kind != "grouped" else draw(st.sampled_from([2, 4]))
    if kind == "linear":
        layer = linear("fc", (draw(st.integers(1, 3)), C, 1, 1), draw(st.integers(1, 7)))
    else:
        H = draw(st.integers(2, 6))
        k = draw(st.sampled_from([1, 3]))
        s = draw(st.sampled_from([1, 2]))
        if kind == "depthwise":
            layer = conv2d("dw", (1, C, H, H), C * draw(st.integers(1, 2)), kernel=k, stride=s, groups=C)
        elif kind == "grouped":
            layer = conv2d("g2", (1, C, H, H), 2 * draw(st.integers(1, 3)), kernel=k, stride=s, groups=2)
        elif kind == "dilated":  # DARTS dil_conv: depthwise 3x3, dilation 2, padding 2
            layer = conv2d("dil", (1, C, H, H), C, kernel=3, stride=s, dilation=2, groups=C)
        else:
            layer = conv2d("c", (1, C, H, H), draw(st.integers(1, 7)), kernel=k, stride=s)
    c = cfg(pes_x=draw(st.integers(1, 2)), pes_y=draw(st.integers(1, 3)), compute_lanes=draw(st.integers(1, 3)),
            simd_units=draw(st.integers(1, 3)), simd_width=draw(st.sampled_from([1, 2, 4])),
            local_memory_mb=draw(st.sampled_from([0.0002, 0.0005, 1.0])),
            io_bandwidth_gbps=draw(st.sampled_from([0.5, 5.0, 50.0])), register_file_kb=0.5,
            mapspace=draw(st.sampled_from(["exhaustive", "pow2"])),
            **{"options.layer_boundaries": draw(st.sampled_from(gm.LAYER_BOUNDARIES))})
    return layer, c, draw(st.sampled_from(["latency", "energy", "edp"]))


@FAST
@given(tiny_case())
def test_mapper_optimum_equals_brute_force(case):
    layer, c, objective = case
    expect = brute_force(layer, c, objective)
    if math.isinf(expect):
        with pytest.raises(ValueError, match="does not fit"):
            gm.best_mapping(layer, c, objective)
        return
    mapping = gm.best_mapping(layer, c, objective)
    got = objective_value(gm.evaluate_mapping(layer, c, mapping), objective)
    assert got == pytest.approx(expect, rel=1e-9)


def test_smallest_tile_of_a_trip_count_is_not_always_best():
    """The counter-example behind keeping more than ceil(D/n) per trip count: K=10 on 4-wide SIMD in two
    tiles costs 4 channel steps as 5+5 but 3 as 6+4 (or 8+2, which 6+4 dominates with a smaller buffer)."""
    assert gk._ceil_sum(10, 5, 4) == 4 and gk._ceil_sum(10, 6, 4) == 3 and gk._ceil_sum(10, 8, 4) == 3
    ks = list(gk.channel_candidates(10, 1, 4, 1, False, False, 0, 1))
    assert 5 in ks and 6 in ks and 8 not in ks


# ---- invariants and monotonicity ------------------------------------------------------------------

@st.composite
def small_layer(draw):
    kind = draw(st.sampled_from(["conv", "conv", "depthwise", "linear"]))
    C = draw(st.sampled_from([3, 8, 16, 24, 64]))
    if kind == "linear":
        return linear("fc", (draw(st.integers(1, 4)), C, 1, 1), draw(st.sampled_from([10, 100, 256])))
    H = draw(st.sampled_from([4, 7, 14, 28]))
    k = draw(st.sampled_from([1, 3, 5]))
    s = draw(st.sampled_from([1, 2]))
    if kind == "depthwise":
        return conv2d("dw", (1, C, H, H), C, kernel=k, stride=s, groups=C)
    return conv2d("c", (draw(st.integers(1, 2)), C, H, H), draw(st.sampled_from([8, 16, 24, 96])), kernel=k,
                  stride=s)


@FAST
@given(small_layer(), st.sampled_from(ALL_SPECS), st.sampled_from(["latency", "energy", "edp"]))
def test_overlapped_boundaries_are_never_slower_and_keep_the_floors(layer, spec, objective):
    serial = cfg(spec)
    hidden = cfg(spec, **{"options.layer_boundaries": "overlapped"})
    fast = gm.map_layer(layer, hidden, objective)
    assert fast.cycles >= layer.macs / hidden.peak_macs_per_cycle * (1 - 1e-12)
    # every byte still crosses the DRAM interface
    dram_bytes = sum(v for k, v in fast.energy_j.items() if k == "dram") / hidden.e_dram
    assert fast.cycles >= dram_bytes / hidden.bytes_per_cycle * (1 - 1e-9)
    if objective == "latency":
        assert fast.cycles <= gm.map_layer(layer, serial, objective).cycles * (1 + 1e-12)


@FAST
@given(small_layer(), st.sampled_from(ALL_SPECS), st.sampled_from(["latency", "energy", "edp"]))
def test_latency_at_least_macs_over_peak(layer, spec, objective):
    c = cfg(spec)
    cost = gm.map_layer(layer, c, objective)
    assert cost.cycles >= layer.macs / c.peak_macs_per_cycle * (1 - 1e-12)
    assert 0 < cost.utilization <= 1 + 1e-12
    assert cost.extra["compute_cycles"] <= cost.cycles * (1 + 1e-12)
    assert cost.extra["local_memory_need_kb"] * 1024 <= c.local_memory_bytes


#: one step up of each resource, from a mid-size point of the NAHAS space
NAHAS_STEPS = {"pes_x": (2, 4), "pes_y": (2, 6), "simd_units": (16, 32), "compute_lanes": (2, 4),
               "register_file_kb": (8, 16), "local_memory_mb": (0.5, 1.0), "io_bandwidth_gbps": (5, 10)}


@FAST
@given(small_layer(), st.sampled_from(sorted(NAHAS_STEPS)))
def test_more_of_any_resource_never_makes_the_optimum_worse(layer, resource):
    low, high = NAHAS_STEPS[resource]
    point = {"pes_x": 2, "pes_y": 2, "simd_units": 16, "compute_lanes": 2, "register_file_kb": 8,
             "local_memory_mb": 0.5, "io_bandwidth_gbps": 5}
    small = cfg(**{**point, resource: low, "local_memory_mb": point["local_memory_mb"] if resource != "local_memory_mb" else low})
    big = cfg(**{**point, resource: high})
    assert gm.map_layer(layer, big, "latency").cycles <= gm.map_layer(layer, small, "latency").cycles * (1 + 1e-12)
    if resource in ("register_file_kb", "local_memory_mb"):
        # memory only widens the mapping space (and register-file reuse): energy cannot get worse either
        e = lambda c: sum(gm.map_layer(layer, c, "energy").energy_j.values())
        assert e(big) <= e(small) * (1 + 1e-12)


@FAST
@given(small_layer(), st.sampled_from(["dsp", "on_chip_mbit", "io_bandwidth_gbps"]))
def test_more_budget_never_makes_the_optimum_worse(layer, resource):
    base = {"dsp": 700, "on_chip_mbit": 2.0, "io_bandwidth_gbps": 6.4}
    more = {**base, resource: base[resource] * 2}
    a = gm.map_layer(layer, cfg("generic-small", **base), "latency").cycles
    b = gm.map_layer(layer, cfg("generic-small", **more), "latency").cycles
    assert b <= a * (1 + 1e-12)


# ---- the evaluate_mapping / best_mapping API -------------------------------------------------------

@FAST
@given(small_layer(), st.sampled_from(ALL_SPECS), st.sampled_from(["latency", "energy", "edp"]))
def test_best_mapping_round_trips_through_evaluate_mapping(layer, spec, objective):
    c = cfg(spec)
    mapping = gm.best_mapping(layer, c, objective)
    assert set(mapping) == {"order", "tile", "pe_split", "lane_split"}
    assert mapping["order"] in ("weight_stationary", "output_stationary", "input_stationary")
    assert all(isinstance(v, int) for v in mapping["tile"].values())
    direct = gm.map_layer(layer, c, objective)
    again = gm.evaluate_mapping(layer, c, mapping)
    assert again.cycles == pytest.approx(direct.cycles)
    assert again.energy_j == pytest.approx(direct.energy_j)
    assert again.accesses == pytest.approx(direct.accesses)


def test_every_loop_order_is_reachable_and_costed_differently():
    layer = conv2d("c", (1, 64, 28, 28), 128, kernel=3)
    c = cfg(pes_x=1, pes_y=1, compute_lanes=1, local_memory_mb=0.5, io_bandwidth_gbps=5)
    m = {"tile": {"K": 32, "C": 16, "P": 14, "Q": 28}, "pe_split": {"K": 1, "P": 1}, "lane_split": "K"}
    dram = {o: gm.evaluate_mapping(layer, c, {**m, "order": o}).accesses["dram"] for o in gk.ORDER_NAMES}
    assert len(set(dram.values())) == 3
    # weight-stationary fetches each weight once; output-stationary writes each output once (no spills)
    ws = gm.evaluate_mapping(layer, c, {**m, "order": "weight_stationary"})
    os_ = gm.evaluate_mapping(layer, c, {**m, "order": "output_stationary"})
    assert ws.energy_j["dram"] > 0 and os_.energy_j["dram"] > 0


# ---- bad input -------------------------------------------------------------------------------------

def test_unknown_and_out_of_range_parameters():
    with pytest.raises(SpecError, match="unknown parameter 'pe_x'"):
        cfg(pe_x=4)
    with pytest.raises(SpecError, match="pes_x"):
        cfg(pes_x=0)
    with pytest.raises(SpecError, match="io_bandwidth_gbps"):
        cfg(io_bandwidth_gbps=-1)
    with pytest.raises(SpecError, match="mapspace"):
        cfg(mapspace="random")
    with pytest.raises(SpecError, match="register_file_kb.*>= 0.5 KB"):
        cfg(register_file_kb=0.25, simd_units=64)
    with pytest.raises(SpecError, match="budget.dsp"):
        cfg("generic-small", dsp=0)
    with pytest.raises(SpecError, match="needs >= 16 DSPs"):
        cfg("generic-small", dsp=8)
    with pytest.raises(SpecError, match="unknown parameter 'pes_x'"):
        cfg("generic-small", pes_x=2)
    with pytest.raises(SpecError, match=r"options.layer_boundaries.*'hidden'.*serial.*overlapped"):
        cfg("generic-small", **{"options.layer_boundaries": "hidden"})
    with pytest.raises(ValueError, match="objective"):
        gm.map_layer(conv2d("c", (1, 3, 8, 8), 8), cfg(), "speed")


def test_layer_that_does_not_fit_says_by_how_much():
    layer = conv2d("big", (1, 512, 14, 14), 512, kernel=3)
    c = cfg(local_memory_mb=0.00001)
    with pytest.raises(ValueError, match=r"does not fit 'nahas-edge'.*short by \d+ B"):
        gm.map_layer(layer, c, "latency")
    with pytest.raises(ValueError, match="line buffer.*short by"):
        gm.map_layer(pool("p", (1, 512, 224, 224), "max", kernel=3, stride=2), c, "latency")


def test_illegal_mappings_name_what_is_wrong():
    layer = conv2d("c", (1, 8, 6, 6), 16, kernel=1, padding=0)
    c = cfg(pes_x=2, pes_y=1, compute_lanes=1, simd_units=4)
    ok = {"order": "weight_stationary", "tile": {"K": 8, "C": 8, "P": 6, "Q": 6}, "pe_split": {"K": 2, "P": 1},
          "lane_split": "K"}
    gm.evaluate_mapping(layer, c, ok)
    bad = [
        ({**ok, "order": "row_stationary"}, "order 'row_stationary'"),
        ({**ok, "tile": {"K": 17, "C": 8, "P": 6, "Q": 6}}, r"tile K=17.*1\.\.16"),
        ({**ok, "tile": {"K": 8, "C": 8, "P": 6}}, "tile must give"),
        ({**ok, "pe_split": {"K": 2, "P": 2}}, "product <= 2 PEs"),
        ({**ok, "lane_split": "C"}, "lane_split 'C'"),
        ({k: v for k, v in ok.items() if k != "order"}, "mapping keys"),
        ("weight_stationary", "must be a dict"),
    ]
    for mapping, msg in bad:
        with pytest.raises(ValueError, match=msg):
            gm.evaluate_mapping(layer, c, mapping)
    tight = cfg(pes_x=1, pes_y=1, compute_lanes=1, simd_units=4, local_memory_mb=0.001)
    with pytest.raises(ValueError, match=r"over by \d+ B"):
        gm.evaluate_mapping(layer, tight, {**ok, "tile": {"K": 16, "C": 8, "P": 6, "Q": 6},
                                           "pe_split": {"K": 1, "P": 1}})
    with pytest.raises(ValueError, match="no MACs"):
        gm.evaluate_mapping(pool("p", (1, 8, 8, 8), "max", kernel=2, stride=2), c, ok)


AREA_PARAMS = ("pes_x", "pes_y", "compute_lanes", "simd_units", "simd_width", "register_file_kb", "local_memory_mb",
               "io_bandwidth_gbps")


@FAST
@given(st.fixed_dictionaries({p: st.floats(0.5, 64) for p in AREA_PARAMS}), st.sampled_from(AREA_PARAMS),
       st.floats(1.01, 4))
def test_area_grows_with_every_resource(point, resource, factor):
    area = gm.read_area_model(load_spec("nahas-edge"))
    bigger = {**point, resource: point[resource] * factor}
    assert area.area_mm2(**bigger) > area.area_mm2(**point)
    parts = area.breakdown(**point)
    assert all(v > 0 for v in parts.values()) and sum(parts.values()) == pytest.approx(area.area_mm2(**point))


# E2E-Perf (EH-DNAS Table 4): ImageNet networks, generic paradigm, on the three budgets. Its latencies are
# reciprocal throughputs (1000 / an integer fps), so the comparison is in frames per second.
E2E_TABLE4 = e2e_perf_compare.TABLE4_MS


@pytest.fixture(scope="module")
def table4():
    return e2e_perf_compare.table4()


def test_table4_budget_order_agrees_with_e2e_perf(table4):
    """More DSPs and on-chip memory never lower the throughput, on both sides."""
    for name, part in table4.groupby("network"):
        assert list(part["budget"]) == ["small", "medium", "large"]
        assert part["published_fps"].is_monotonic_increasing and part["ours_fps"].is_monotonic_increasing, name


def _known_gap(network, detail):
    return pytest.param(network, marks=pytest.mark.xfail(strict=True, reason=(
        f"known gap: {detail}. E2E-Perf's engine (not described in the paper) gains 2.0-3.5x from the small to the "
        "large budget at 1.6-13 % of its peak MAC rate; ours gains 1.05-1.17x, each layer bound by DRAM traffic "
        "(DDR3-1600 for every layer's maps and weights) or by the output channels it can spread over DSP/16 SIMD "
        "units (validation/REPORT.md, section 5.2)")))


@pytest.mark.parametrize("network", [
    _known_gap("DARTS", "ours 193 / 222 / 225 fps vs E2E-Perf 68 / 108 / 134: 2.8x and 2.1x on the small and medium "
                        "budgets (1.7x on the large)"),
    _known_gap("FBNet-A", "ours 408 / 430 / 433 fps vs E2E-Perf 26 / 49 / 86: 16x / 8.8x / 5.0x"),
    _known_gap("ProxylessNAS", "ours 335 / 359 / 360 fps vs E2E-Perf 14 / 27 / 49: 24x / 13x / 7.4x"),
    _known_gap("MobileNetV3", "ours 320 / 334 / 337 fps vs E2E-Perf 35 / 63 / 101: 9.1x / 5.3x / 3.3x"),
])
def test_table4_throughput_within_2x_of_e2e_perf(table4, network):
    part = table4[table4["network"] == network]
    assert ((part["ours_fps"] >= part["published_fps"] / 2) & (part["ours_fps"] <= part["published_fps"] * 2)).all()


@settings(max_examples=8, deadline=None)
@given(st.sampled_from(["nb201", "fbnet"]), st.integers(0, 2**31 - 1))
def test_budget_order_on_sampled_search_space_networks(space, seed):
    from accelmodel.search import sample_networks

    (name, graph), = sample_networks(space, 1, seed=seed).items()
    lat = {spec: estimate(graph, spec).latency_ms for spec in BUDGET_SPECS}
    assert lat["generic-large"] <= lat["generic-medium"] <= lat["generic-small"], name
    c = cfg("generic-large")
    assert lat["generic-large"] >= graph.macs / c.peak_macs_per_cycle / c.clock_hz * 1e3
