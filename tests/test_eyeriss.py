"""Eyeriss RS mapper: contract, legality, optimality of the search, invariants, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accelmodel import estimate
from accelmodel.estimate import configure
from accelmodel.mappers import eyeriss_kernels as K
from accelmodel.mappers import eyeriss_rs as rs
from accelmodel.specs import SpecError, load_spec
from accelmodel.workloads import conv2d, elementwise, linear, nasbench201, pool

#: eyeriss-hwnasbench as it applies to NAS-Bench-201 networks: DNN-Chip Predictor's conventions (count placement,
#: adds as DRAM traffic, its unit energies); its defaults follow HW-NAS-Bench's FBNet tables (grid placement).
DCP = load_spec("eyeriss-hwnasbench").for_space("nasbench201")
SPECS = ("eyeriss", "eyeriss-hwnasbench", DCP)
OBJECTIVES = ("latency", "energy", "edp")
ALL_OBJECTIVES = rs.OBJECTIVES  # plus "balanced" (DNN-Chip Predictor's rule), which is not monotone in resources


def config_of(name, overrides=None):
    return configure(name, overrides)[2]


def mapping_of(cost: "rs.LayerCost", layer, config) -> np.ndarray:
    """The mapping vector behind a LayerCost, recovered by re-searching (the record keeps the string)."""
    shape = rs.layer_shape(layer, config)
    mp, _, _, _ = K.search(shape, config.hw, 0)
    return mp


# ---- strategies -------------------------------------------------------------------------------------

@st.composite
def conv_layers(draw):
    """Small but varied convolutions: strided, grouped, depthwise, 1x1 and FC-like."""
    groups = draw(st.sampled_from([1, 1, 1, 2, 4]))
    c = groups * draw(st.sampled_from([1, 2, 3, 4, 6, 8, 16]))
    depthwise = groups > 1 and draw(st.booleans())
    if depthwise:
        groups = c
    k = c if depthwise else groups * draw(st.sampled_from([1, 2, 4, 5, 8, 12, 16, 32]))
    kernel = draw(st.sampled_from([1, 3, 5]))
    stride = draw(st.sampled_from([1, 1, 2]))
    hw = draw(st.integers(min_value=max(kernel, 2), max_value=20))
    n = draw(st.sampled_from([1, 1, 2, 3, 4]))
    return conv2d("p", (n, c, hw, hw), k, kernel, stride, kernel // 2, groups=groups)


# ---- contract and records ---------------------------------------------------------------------------

def test_specs_load_and_configure():
    for name in SPECS:
        spec = load_spec(name)
        assert spec.paradigm == rs.PARADIGM
        cfg = rs.configure(spec)
        assert cfg.pes == 168
        assert cfg.default_objective in ALL_OBJECTIVES
        hash(cfg.key)
    assert config_of("eyeriss").glb_words == 100 * 1024 // 2  # the ifmap/psum part of the 108 KB GLB (JSSC V-A)
    assert config_of("eyeriss-hwnasbench").clock_hz == 250e6


@pytest.mark.parametrize("field,value,needle", [
    ("pe_array.rows", 0, "pe_array.rows"),
    ("spads.filter_words", "many", "spads.filter_words"),
    ("conventions.pooling", "sum", "conventions.pooling"),
    ("energy_pj.dram", -1.0, "energy_pj.dram"),
    ("default_objective", "speed", "default_objective"),
])
def test_bad_spec_fields_are_named(field, value, needle):
    with pytest.raises(SpecError, match=needle):
        config_of("eyeriss", {field: value})


def test_layer_cost_record_and_estimate_frame():
    graph = nasbench201("|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|")
    est = estimate(graph, "eyeriss-hwnasbench")
    frame = est.layers
    for col in ("name", "type", "macs", "latency_ms", "energy_mj", "dram_accesses", "utilization", "mapping",
                "energy_dram_mj", "energy_mac_mj", "energy_rf_mj", "energy_noc_mj", "energy_glb_mj"):
        assert col in frame.columns
    assert len(frame) == len(graph)
    assert {"conv2d", "pool", "identity", "zero", "add", "fc"} <= set(frame["type"])
    convs = frame[frame["type"] == "conv2d"]
    assert (convs["latency_ms"] > 0).all() and (convs["energy_mj"] > 0).all()
    assert convs["mapping"].str.startswith("RS set").all()
    assert ((convs["utilization"] > 0) & (convs["utilization"] <= 1)).all()
    # identity and zero are free in HW-NAS-Bench's convention; an add costs its DRAM round trip
    assert (frame.loc[frame["type"].isin(["identity", "zero"]), "latency_ms"] == 0).all()
    adds = frame[frame["type"] == "add"]
    assert (adds["latency_ms"] > 0).all() and (adds["dram_accesses"] > 0).all()
    assert est.latency_ms == pytest.approx(frame["latency_ms"].sum())
    assert est.energy_mj == pytest.approx(frame["energy_mj"].sum())


def test_add_costs_its_traffic_exactly():
    cfg = config_of(DCP)
    add = elementwise("a", "add", (1, 32, 16, 16), 3)
    cost = rs.map_layer(add, cfg, "latency")
    words = 4 * 32 * 16 * 16  # three inputs read, one output written
    assert cost.accesses["dram"] == words
    assert cost.cycles == pytest.approx(words / cfg.bw_elementwise)
    assert cost.energy_j["dram"] == pytest.approx(words * cfg.e_elementwise_pj * 1e-12)


def test_pooling_follows_the_dense_conv_convention():
    """HW-NAS-Bench costs a 3x3 average pooling like the dense 3x3 conv of the same shape (minus MAC energy)."""
    cfg = config_of("eyeriss-hwnasbench")
    p = pool("p", (1, 16, 32, 32), "avg", 3, 1)
    c = conv2d("c", (1, 16, 32, 32), 16, 3, 1, 1)
    cp, cc = rs.map_layer(p, cfg, "latency"), rs.map_layer(c, cfg, "latency")
    assert cp.cycles == cc.cycles
    assert cp.energy_j["mac"] == 0 and cc.energy_j["mac"] > 0
    assert cp.energy_total_j == pytest.approx(cc.energy_total_j - cc.energy_j["mac"])
    # the chip profile runs pooling per channel instead
    chip = config_of("eyeriss")
    assert rs.map_layer(p, chip, "latency").cycles < rs.map_layer(c, chip, "latency").cycles


def test_objectives_order_their_own_metric():
    layer = conv2d("c", (2, 64, 14, 14), 96, 3, 1, 1)
    for name in SPECS:
        cfg = config_of(name)
        lat, en, edp = (rs.map_layer(layer, cfg, o) for o in OBJECTIVES)
        assert lat.cycles <= en.cycles * (1 + 1e-9) and lat.cycles <= edp.cycles * (1 + 1e-9)
        assert en.energy_total_j <= lat.energy_total_j * (1 + 1e-9)
        assert en.energy_total_j <= edp.energy_total_j * (1 + 1e-9)
        assert edp.cycles * edp.energy_total_j <= lat.cycles * lat.energy_total_j * (1 + 1e-9)
        assert edp.cycles * edp.energy_total_j <= en.cycles * en.energy_total_j * (1 + 1e-9)


def test_fc_and_grouped_layers_map():
    cfg = config_of("eyeriss")
    fc = rs.map_layer(linear("fc", (4, 256, 6, 6), 4096), cfg, "energy")
    assert fc.macs == 4 * 256 * 36 * 4096 and fc.cycles > 0
    dw = conv2d("dw", (1, 32, 28, 28), 32, 3, 2, 1, groups=32)
    cost = rs.map_layer(dw, cfg, "latency")
    assert "g1" in cost.mapping and cost.macs == dw.macs


# ---- the search: legality and true optimality ----------------------------------------------------------

def brute_force(shape, hw, objective):
    """Every factorisation, no pruning: the reference the pruned search must match."""
    def splits(n, parts):
        if parts == 1:
            yield (n,)
            return
        for d in range(1, n + 1):
            if n % d == 0:
                for rest in splits(n // d, parts - 1):
                    yield (d,) + rest
    N, G, M, C, E = (int(shape[i]) for i in (K.L_N, K.L_G, K.L_M, K.L_C, K.L_E))
    cost = np.zeros(K.NCOST)
    mp = np.ones(K.NMAP, np.int64)
    legal = []
    if hw[K.HW_ROW_STRIPS_ANY]:  # any strip width, ceil(E / e1) strips with a partial last one
        rows = [(e1, -(-E // e1)) for e1 in range(1, E + 1)]
    else:
        rows = list(splits(E, 2))
    for m, c, e, n, g in itertools.product(splits(M, 4), splits(C, 4), rows, splits(N, 2), splits(G, 2)):
        mp[:] = (*m, *c, *e, *n, *g)
        K.mapping_cost(shape, mp, hw, cost)
        if cost[K.CO_LEGAL] == 1:
            legal.append((cost[K.CO_CYCLES], cost[K.CO_ENERGY]))
    if not legal:
        return None
    cmin, cmax = min(c for c, _ in legal), max(c for c, _ in legal)
    emin, emax = min(e for _, e in legal), max(e for _, e in legal)
    best, best_key = None, None
    for cyc, en in legal:
        key = {"latency": (cyc, en), "energy": (en, cyc), "edp": (cyc * en,),
               "balanced": ((cyc - cmin) / cmax + (en - emin) / emax, cyc)}[objective]
        if best_key is None or key < best_key:
            best, best_key = (cyc, en), key
    return best


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer=conv_layers(), spec=st.sampled_from(SPECS), objective=st.sampled_from(ALL_OBJECTIVES))
def test_pruned_search_finds_the_brute_force_optimum(layer, spec, objective):
    cfg = config_of(spec)
    shape = rs.layer_shape(layer, cfg)
    if shape[K.L_M] * shape[K.L_C] > 256:  # keep the brute force small
        return
    mp, cost, _, _ = K.search(shape, cfg.hw, rs.OBJECTIVE_CODES[objective])
    expected = brute_force(shape, cfg.hw, objective)
    if expected is None:
        assert mp[K.MAP_M0] == 0
        return
    got = (cost[K.CO_CYCLES], cost[K.CO_ENERGY])
    if objective == "edp":
        assert got[0] * got[1] == pytest.approx(expected[0] * expected[1], rel=1e-9)
    elif objective == "balanced":
        assert got == pytest.approx(expected, rel=1e-9)
    else:
        main = 0 if objective == "latency" else 1
        assert got[main] == pytest.approx(expected[main], rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(layer=conv_layers(), spec=st.sampled_from(SPECS), objective=st.sampled_from(ALL_OBJECTIVES))
def test_invariants_of_the_chosen_mapping(layer, spec, objective):
    """latency >= MACs / peak; energy >= MACs x E_MAC; the mapping respects every capacity; the fast
    inner-loop cost equals the full cost; evaluate_mapping reproduces the searched cost."""
    cfg = config_of(spec)
    cost = rs.map_layer(layer, cfg, objective)
    assert cost.latency_s >= layer.macs / (cfg.pes * cfg.clock_hz) * (1 - 1e-12)
    assert cost.energy_total_j >= layer.macs * cfg.e_mac_pj * 1e-12 * (1 - 1e-12)
    assert 0 < cost.utilization <= 1 + 1e-12
    shape = rs.layer_shape(layer, cfg)
    # the search ranks by the spec's selection energies; the cost is reported with its energies
    mp, _, _, _ = K.search(shape, cfg.hw_select, rs.OBJECTIVE_CODES[objective])
    full = np.zeros(K.NCOST)
    K.mapping_cost(shape, mp, cfg.hw, full)
    assert full[K.CO_CYCLES] == pytest.approx(cost.cycles, rel=1e-12)
    assert K.check_mapping(shape, mp, cfg.hw) == 1
    f = dict(zip(K.MAP_NAMES, (int(v) for v in mp)))
    assert shape[K.L_R] * f["e1"] * f["m1"] * f["c1"] * f["g1"] <= cfg.pes
    spad_images = 1 if cfg.batch_in_spads == "sequential" else f["n0"]  # images interleaved in the spads
    assert spad_images * f["c0"] * shape[K.L_S] <= cfg.spad_ifmap
    assert f["m0"] * f["c0"] * shape[K.L_S] <= cfg.spad_filter
    assert f["m0"] * spad_images <= cfg.spad_psum
    assert K.glb_words(shape, mp) <= cfg.glb_words
    fast = K._cycles_energy(shape, cfg.hw, *(f[k] for k in ("m0", "m1", "m2", "m3", "c0", "c1", "c2", "c3", "e1",
                                                           "e3", "n3", "g1")))
    assert fast[0] == pytest.approx(full[K.CO_CYCLES], rel=1e-12)
    assert fast[1] == pytest.approx(full[K.CO_ENERGY], rel=1e-12)
    again = rs.evaluate_mapping(layer, cfg, f)
    assert again.cycles == pytest.approx(cost.cycles) and again.energy_total_j == pytest.approx(cost.energy_total_j)
    assert again.mapping == cost.mapping


@settings(max_examples=25, deadline=None)
@given(layer=conv_layers(), spec=st.sampled_from(SPECS), objective=st.sampled_from(OBJECTIVES),
       grow=st.sampled_from(["glb", "array"]))
def test_more_resources_never_make_the_optimum_worse(layer, spec, objective, grow):
    base = config_of(spec)
    if grow == "glb":
        bigger = config_of(spec, {"glb.kb": load_spec(spec).get("glb.kb") * 2})
    else:
        bigger = config_of(spec, {"pe_array.rows": 16, "pe_array.cols": 16})
    a = rs.map_layer(layer, base, objective)
    b = rs.map_layer(layer, bigger, objective)
    score = {"latency": lambda c: c.cycles, "energy": lambda c: c.energy_total_j,
             "edp": lambda c: c.cycles * c.energy_total_j}[objective]
    assert score(b) <= score(a) * (1 + 1e-9)


def test_stacked_placement_respects_the_array_geometry():
    cfg = config_of(DCP, {"pe_array.placement": "stacked"})
    for layer in (conv2d("c1", (1, 16, 32, 32), 16, 1, 1, 0), conv2d("c3", (1, 64, 8, 8), 64, 3, 1, 1)):
        shape = rs.layer_shape(layer, cfg)
        mp, cost, _, _ = K.search(shape, cfg.hw, 0)
        f = dict(zip(K.MAP_NAMES, (int(v) for v in mp)))
        assert f["e1"] <= cfg.pe_cols
        assert shape[K.L_R] * f["m1"] * f["c1"] * f["g1"] <= cfg.pe_rows
        count = rs.map_layer(layer, config_of(DCP), "latency")
        assert cost[K.CO_CYCLES] >= count.cycles  # stacking is a subset of the count rule's placements


# ---- bad input ------------------------------------------------------------------------------------------

def test_unmappable_layer_names_layer_and_capacity():
    cfg = config_of("eyeriss")
    tall = conv2d("tall_filter", (1, 8, 32, 32), 8, 13, 1, 6)
    with pytest.raises(rs.MappingError, match=r"tall_filter.*12 PE rows"):
        rs.map_layer(tall, cfg, "latency")
    tiny = config_of("eyeriss", {"glb.kb": 0.5})
    wide = conv2d("wide_rows", (1, 64, 8, 512), 64, 3, 1, 1)
    with pytest.raises(rs.MappingError, match=r"wide_rows.*global buffer"):
        rs.map_layer(wide, tiny, "latency")


def test_evaluate_mapping_rejects_illegal_and_unknown_factors():
    cfg = config_of("eyeriss")
    layer = conv2d("c", (1, 16, 16, 16), 32, 3, 1, 1)
    with pytest.raises(rs.MappingError, match="filter spad"):
        rs.evaluate_mapping(layer, cfg, {"m0": 32, "c0": 4, "e1": 8})  # the chip's sets are >= 7 rows wide
    with pytest.raises(rs.MappingError, match="PE array"):
        rs.evaluate_mapping(layer, cfg, {"e1": 16, "m1": 8})
    with pytest.raises(rs.MappingError, match="unknown mapping factor"):
        rs.evaluate_mapping(layer, cfg, {"q0": 2})
    with pytest.raises(rs.MappingError, match="does not divide"):
        rs.evaluate_mapping(layer, cfg, {"m0": 3, "e1": 8})
    with pytest.raises(rs.MappingError, match="min_set_rows=7"):
        rs.evaluate_mapping(layer, cfg, {"e1": 4})
    with pytest.raises(rs.MappingError, match="ifmap_pass_words=2048"):
        rs.evaluate_mapping(conv2d("w", (1, 16, 64, 64), 16, 3, 1, 1), cfg, {"e1": 14, "c0": 2})  # 2 x 16 x 66 > 2048
    # unbounded bandwidths: the cycles are the compute cycles, MACs / PEs in use
    ok = rs.evaluate_mapping(layer, config_of(DCP), {"m0": 4, "e1": 16, "m1": 2, "c1": 1, "c2": 16})
    assert ok.extra["pes_used"] == 3 * 16 * 2
    assert ok.cycles == pytest.approx(16 * 32 * 16 * 16 * 9 / (3 * 16 * 2))


def test_unequal_strides_are_refused():
    cfg = config_of("eyeriss")
    with pytest.raises(rs.MappingError, match="stride"):
        rs.map_layer(conv2d("odd", (1, 4, 16, 16), 4, 3, (1, 2), 1), cfg, "latency")


@pytest.mark.parametrize("spec", SPECS)
def test_strided_input_moves_the_span_its_windows_cover(spec):
    """A 1x1 convolution with stride 2 on a 16x16 plane reads rows and columns 0..14: its ifmap DRAM traffic
    is that 15x15 span (the last row and column are never fetched), the same as the unstrided layer on a
    15x15 plane with the same mapping; a 3x3 stride-2 'same' convolution spans the whole plane."""
    cfg = config_of(spec, {"pe_array.placement": "count"})  # a 16-row set: wider than a 14-column grid
    mapping = {"m0": 8, "m1": 4, "e1": 8, "c2": 16}
    strided = rs.evaluate_mapping(conv2d("s2", (1, 16, 16, 16), 32, 1, 2, 0), cfg, mapping)
    whole = rs.evaluate_mapping(conv2d("s2", (1, 16, 16, 16), 32, 1, 1, 0), cfg, {**mapping, "e1": 16})
    act = 1.0 / cfg.dram_compression  # activations may be run-length compressed on the way to DRAM
    assert strided.accesses["dram"] == pytest.approx((16 * 15 * 15 + 32 * 8 * 8) * act + 32 * 16, rel=1e-12)
    assert whole.accesses["dram"] == pytest.approx((16 * 16 * 16 + 32 * 16 * 16) * act + 32 * 16, rel=1e-12)
    assert rs.input_span(16, 8, 1, 2, 0) == 15
    assert rs.input_span(16, 8, 3, 2, 1) == 16
    assert rs.input_span(227, 55, 11, 4, 0) == 227
    assert rs.input_span(8, 8, 3, 1, 1) == 8


# ---- DNN-Chip Predictor conventions of eyeriss-hwnasbench ------------------------------------------------

def test_balanced_objective_is_dcp_total_optimal_rule():
    """The NB201 1x1 cell conv (16 -> 16, 32x32): DCP's rule (energy and latency each normalised by their worst
    mapping, ranked in its unit energies) settles on 64 PEs although 128 would halve the latency -- the
    mapping HW-NAS-Bench's Eyeriss latencies reflect."""
    cfg = config_of(DCP)
    layer = conv2d("c1", (1, 16, 32, 32), 16, 1, 1, 0)
    fast = rs.map_layer(layer, cfg, "latency")
    dcp = rs.map_layer(layer, cfg, "balanced")
    assert fast.cycles == 2048 and "= 128/168 PEs" in fast.mapping
    assert dcp.cycles == 4096 and "= 64/168 PEs" in dcp.mapping


def test_mapping_space_limits_are_respected():
    cfg = config_of(DCP)
    assert not cfg.psum_spills and cfg.min_set_rows == 2
    for layer in (conv2d("a", (1, 64, 8, 8), 64, 3, 1, 1), conv2d("b", (1, 184, 4, 4), 184, 1, 1, 0)):
        for objective in ALL_OBJECTIVES:
            f = dict(zip(K.MAP_NAMES, map(int, K.search(rs.layer_shape(layer, cfg), cfg.hw_select,
                                                         rs.OBJECTIVE_CODES[objective])[0])))
            assert f["c3"] == 1 and f["e1"] >= 2
    # an FC layer has one output row: the minimum set width gives way to it
    assert rs.map_layer(linear("fc", (1, 64, 1, 1), 10), cfg, "balanced").cycles > 0
    with pytest.raises(rs.MappingError, match="psum_spills"):
        rs.evaluate_mapping(conv2d("a", (1, 8, 8, 8), 8, 3, 1, 1), cfg, {"e1": 1, "c2": 1, "c3": 8})


def test_selection_energies_rank_and_spec_energies_report():
    """The mapper ranks by selection_energy_pj and reports energy_pj: the reported energy is the spec's cost
    of the mapping the selection energies choose."""
    cfg = config_of("eyeriss-hwnasbench")
    assert cfg.hw_select is not cfg.hw
    layer = conv2d("c", (1, 32, 16, 16), 32, 3, 1, 1)
    cost = rs.map_layer(layer, cfg, "energy")
    shape = rs.layer_shape(layer, cfg)
    mp = K.search(shape, cfg.hw_select, rs.OBJECTIVE_CODES["energy"])[0]
    full = np.zeros(K.NCOST)
    K.mapping_cost(shape, mp, cfg.hw, full)
    assert cost.energy_total_j == pytest.approx(full[K.CO_ENERGY], rel=1e-12)
    # without the section the two vectors are one
    chip = config_of("eyeriss")
    assert chip.hw_select is chip.hw


def test_search_space_overrides():
    """eyeriss-hwnasbench costs NAS-Bench-201 networks under DNN-Chip Predictor's conventions (balanced mapping
    rule, its unit energies), FBNet with its block tables' conventions (adds free, the global pool as a dense conv)
    and everything else under its defaults (latency); an explicit objective wins."""
    spec = load_spec("eyeriss-hwnasbench")
    nb201 = spec.for_space("nasbench201")
    assert nb201.get("default_objective", str) == "balanced" and spec.get("default_objective", str) == "latency"
    assert nb201.get("energy_pj.mac") != spec.get("energy_pj.mac")
    fb = spec.for_space("fbnet")
    assert fb.get("conventions.add", str) == "free" and fb.get("conventions.global_pooling", str) == "dense_conv"
    assert spec.get("conventions.add", str) == "memory_traffic" and spec.for_space(None) is spec
    nb = "nb201:|nor_conv_1x1~0|+|nor_conv_1x1~0|none~1|+|none~0|none~1|none~2|"
    by_space = estimate(nb, arch="eyeriss-hwnasbench")
    assert by_space.objective == "balanced"
    assert by_space.latency_ms == pytest.approx(estimate(nb, arch=nb201).latency_ms)
    assert by_space.latency_ms > estimate(nb, arch="eyeriss-hwnasbench", objective="latency").latency_ms
    fb = "fbnet:" + ",".join(["0"] * 22)
    assert estimate(fb, arch="eyeriss-hwnasbench").objective == "latency"


def test_search_space_overrides_are_checked():
    data = load_spec("eyeriss-hwnasbench").data
    with pytest.raises(SpecError, match="nasbench301"):
        load_spec({**data, "search_space_overrides": {"nasbench301": {"default_objective": "balanced"}}})
    with pytest.raises(SpecError, match="energy_pj.macs"):
        load_spec({**data, "search_space_overrides": {"fbnet": {"energy_pj.macs": 1.0}}})
    with pytest.raises(SpecError, match="fastest"):
        rs.configure(load_spec({**data, "search_space_overrides": {"fbnet": {"default_objective": "fastest"}}})
                     .for_space("fbnet"))



def test_dram_overlap_modes():
    """none: compute + every DRAM word; all: the slower of the two; weights (the chip: filters preloaded during
    the previous pass, ifmap loads and ofmap dumps stall the array): max(compute, filter words) + fmap words."""
    layer = conv2d("c", (2, 32, 14, 14), 64, 3, 1, 1)
    mapping = {"m0": 8, "m1": 2, "e1": 14, "c0": 2, "c2": 16, "n0": 1}
    costs = {mode: rs.evaluate_mapping(layer, config_of("eyeriss", {"options.dram_overlap": mode}), mapping)
             for mode in K.OVERLAP_NAMES}
    cfg = config_of("eyeriss")
    weights = 64 * 32 * 9 * 2  # e3 = 1, n3 = 2: the filters are fetched once per image
    fmaps = costs["none"].accesses["dram"] - weights
    bw = cfg.bw_dram
    core = costs["none"].cycles - (weights + fmaps) / bw  # the array's own cycles (compute, GLB, NoC)
    assert core > 0
    assert costs["all"].cycles == pytest.approx(max(core, (weights + fmaps) / bw), rel=1e-12)
    assert costs["weights"].cycles == pytest.approx(max(core, weights / bw) + fmaps / bw, rel=1e-12)
    assert costs["all"].cycles <= costs["weights"].cycles <= costs["none"].cycles
    dynamic = {mode: c.energy_total_j - c.energy_j["static"] for mode, c in costs.items()}
    for mode in K.OVERLAP_NAMES:  # access energy does not depend on when the words move; the clock's goes with time
        assert dynamic[mode] == pytest.approx(dynamic["none"], rel=1e-12)
        assert costs[mode].energy_j["static"] == pytest.approx(costs[mode].cycles * cfg.static_pj_per_cycle * 1e-12)
    with pytest.raises(SpecError, match="dram_overlap"):
        config_of("eyeriss", {"options.dram_overlap": True})


# ---- the grid placement and sequential groups (HW-NAS-Bench's FBNet tables) --------------------------------

def _grid_split(R, e1, c1, mg, cfg):
    """A split a x b = mg of the filter/group copies that puts the sets on the rows x cols grid, or None."""
    for a in range(1, mg + 1):
        if mg % a == 0 and R * c1 * a <= cfg.pe_rows and e1 * (mg // a) <= cfg.pe_cols:
            return a, mg // a
    return None


@settings(max_examples=40, deadline=None)
@given(layer=conv_layers(), objective=st.sampled_from(OBJECTIVES))
def test_grid_mappings_fit_the_physical_array(layer, objective):
    """Under `grid` the chosen sets fit the 12 x 14 array (filter rows and channel copies down, output rows across,
    filter copies split between the two), and the grid is never faster than the PE-count rule it refines."""
    cfg = config_of("eyeriss-hwnasbench")
    assert cfg.placement == "grid"
    shape = rs.layer_shape(layer, cfg)
    mp, cost, _, _ = K.search(shape, cfg.hw, rs.OBJECTIVE_CODES[objective])
    f = dict(zip(K.MAP_NAMES, (int(v) for v in mp)))
    assert f["g1"] == 1  # mapping_space.spatial_groups: false
    assert _grid_split(int(shape[K.L_R]), f["e1"], f["c1"], f["m1"] * f["g1"], cfg) is not None
    count = K.search(shape, config_of("eyeriss-hwnasbench", {"pe_array.placement": "count"}).hw, 0)[1]
    if objective == "latency":
        assert cost[K.CO_CYCLES] >= count[K.CO_CYCLES] * (1 - 1e-12)


def test_grid_known_answers_from_hwnasbench_fbnet():
    """Per-layer cycles the FBNet calibration file's block differences pin down (250 MHz, unbounded bandwidth):
    112 -> 112 1x1 on 8x8 maps on 8 x 14 = 112 PEs, 112 -> 336 on 12 x 14 = 168; one 3x3 depthwise channel on a
    32x32 map on a 3 x 8 set (4 strips of 8 rows, 3 x 32 = 96 cycles each), so k5 - k3 on 16 channels is 4,096
    cycles."""
    cfg = config_of("eyeriss-hwnasbench")
    c112 = rs.map_layer(conv2d("a", (1, 112, 8, 8), 112, 1, 1, 0), cfg, "latency")
    c336 = rs.map_layer(conv2d("b", (1, 112, 8, 8), 336, 1, 1, 0), cfg, "latency")
    assert (c112.cycles, c112.extra["pes_used"]) == (7168, 112)
    assert (c336.cycles, c336.extra["pes_used"]) == (14336, 168)
    dw3 = rs.map_layer(conv2d("dw3", (1, 16, 32, 32), 16, 3, 1, 1, groups=16), cfg, "latency")
    dw5 = rs.map_layer(conv2d("dw5", (1, 16, 32, 32), 16, 5, 1, 2, groups=16), cfg, "latency")
    assert dw3.extra["pes_used"] == 24 and dw3.cycles == 16 * 4 * 32 * 3
    assert dw5.cycles - dw3.cycles == 4096
    assert dw3.utilization == pytest.approx(dw3.macs / (168 * dw3.cycles))  # 1/7: 24 of 168 PEs busy


@settings(max_examples=25, deadline=None)
@given(layer=conv_layers(), objective=st.sampled_from(OBJECTIVES))
def test_sequential_groups_cost_the_groups_one_after_another(layer, objective):
    """mapping_space.spatial_groups: false costs a grouped layer as its groups run one by one: G x the cost of
    one group's conv (C/G -> K/G), cycles and energy alike."""
    if layer.groups == 1:
        return
    cfg = config_of("eyeriss-hwnasbench")
    G = layer.groups
    one = conv2d("one", (layer.N, layer.C // G, layer.H, layer.W), layer.K // G, layer.kernel, layer.stride,
                 layer.padding)
    whole, single = rs.map_layer(layer, cfg, objective), rs.map_layer(one, cfg, objective)
    assert whole.cycles == pytest.approx(G * single.cycles, rel=1e-12)
    assert whole.energy_total_j == pytest.approx(G * single.energy_total_j, rel=1e-12)


@pytest.mark.parametrize("spec", SPECS)
def test_utilization_is_macs_over_pe_cycles(spec):
    """utilization = the layer's MACs / (PEs x cycles), also where the array does other work (a depthwise layer,
    pooling run on the PEs)."""
    cfg = config_of(spec)
    for layer in (conv2d("dw", (1, 96, 16, 16), 96, 3, 1, 1, groups=96), conv2d("g2", (1, 32, 16, 16), 32, 1, 1, 0,
                                                                                 groups=2),
                  conv2d("c", (1, 32, 16, 16), 64, 3, 1, 1), pool("p", (1, 16, 16, 16), "avg", 3, 1)):
        cost = rs.map_layer(layer, cfg, "latency")
        assert cost.utilization == pytest.approx(layer.macs / (cfg.pes * cost.cycles), rel=1e-12)
        assert cost.utilization <= 1


def test_psum_spad_count_conventions():
    """rs_analysis (DNN-Chip Predictor, ISCA 2016): 2 c3 c2 c1 R (c0 S - 1) psum spad accesses per output, at least
    one; per_mac (Timeloop / AccelForge): a read and a write per MAC. Only the RF count differs."""
    layer = conv2d("c", (1, 8, 10, 10), 16, 3, 1, 0)
    mapping = {"m0": 16, "c1": 4, "c2": 2, "e1": 8}
    rs_cfg = config_of(DCP, {"pe_array.placement": "grid"})
    mac_cfg = config_of(DCP, {"pe_array.placement": "grid", "conventions.psum_spad_count": "per_mac"})
    a, b = rs.evaluate_mapping(layer, rs_cfg, mapping), rs.evaluate_mapping(layer, mac_cfg, mapping)
    outputs = 16 * 8 * 8
    rs_psums = 2 * 1 * 2 * 4 * 3 * (1 * 3 - 1) * outputs
    assert b.accesses["rf"] - a.accesses["rf"] == pytest.approx(2 * layer.macs - rs_psums)
    assert {k: v for k, v in a.accesses.items() if k != "rf"} == {k: v for k, v in b.accesses.items() if k != "rf"}
    assert config_of("eyeriss-hwnasbench").psum_spad_count == "per_mac" and config_of(DCP).psum_spad_count == "rs_analysis"


# ---- the chip's per-pass costs: GLB-to-array networks, filter loads, strips (issue 15) ---------------------------

#: the `eyeriss` chip spec's timing mechanisms switched off (its mapping space kept)
CHIP_TIMING_OFF = {"bandwidth.ifmap_net_words_per_cycle": 0.0, "bandwidth.filter_net_words_per_cycle": 0.0,
                   "bandwidth.psum_net_words_per_cycle": 0.0, "options.filter_load": "overlapped",
                   "options.strip_halo": False}


def test_psum_network_known_answer():
    """VGG-16 CONV1-2 (N=3) in the chip's mapping class: one 3 x 13 set, 16 filters per PE, one channel per pass
    (64 passes over the channels), 18 strips of 13 rows (the last one 3 rows), 4 ifmap fetches. The psum GON moves
    every psum out once per channel pass, 64 x |O| words at 64 bits = 4 words per cycle, and every pass first loads its
    filters: 18 strips x 3 images x 36,864 words at 4 words per cycle."""
    cfg = config_of("eyeriss")
    layer = conv2d("conv1_2", (3, 64, 224, 224), 64, 3, 1, 1)
    cost = rs.evaluate_mapping(layer, cfg, {"m0": 16, "m3": 4, "c2": 64, "e1": 13, "n3": 3})
    ofmap = 3 * 64 * 224 * 224
    filters = 18 * 3 * 64 * 64 * 9
    assert cost.extra["processing_cycles"] == pytest.approx(64 * ofmap / 4 + filters / 4, rel=1e-12)
    assert cost.extra["bound"] == "psum_net+dram" and cost.extra["passes"] == 4 * 64 * 18 * 3
    assert cost.extra["pes_used"] == 39
    # DRAM: 4 ifmap fetches of 224 + 17 x 2 rows (each strip reads its own 15, neighbours share 2), the ofmap once
    # (both run-length compressed 1.5x) and the filters once per strip and image
    ifmap = 4 * 3 * 64 * (224 + 17 * 2) * 224
    assert cost.accesses["dram"] == pytest.approx((ifmap + ofmap) / 1.5 + filters, rel=1e-12)
    # the GLB: ifmap written per fetch and read per pass over it (m2 = 1), psums read back by 63 passes, written by 64
    assert cost.accesses["glb"] == pytest.approx(2 * ifmap + 2 * 63 * ofmap + ofmap, rel=1e-12)


def test_partial_strips_and_filter_loads_known_answer():
    """AlexNet CONV1 (N=4) on JSSC Table III's mapping: two 11 x 7 sets side by side, p = 16, m = 96 (3 GLB passes of
    32 filters), one image per pass. 55 output rows in 8 strips of 7: the PEs of the 56th row idle in the last strip,
    and each of the 8 x 4 passes over all filters loads them first (34,848 words at 4 words per cycle)."""
    cfg = config_of("eyeriss")
    layer = conv2d("conv1", (4, 3, 227, 227), 96, 11, 4, 0)
    cost = rs.evaluate_mapping(layer, cfg, {"m0": 16, "m1": 2, "m2": 3, "c2": 3, "e1": 7, "n3": 4})
    assert cost.extra["pes_used"] == 154 and "e3 8" in cost.mapping
    compute = layer.macs * 56 / 55 / 154
    assert cost.extra["processing_cycles"] == pytest.approx(compute + 8 * 4 * 34848 / 4, rel=1e-12)
    assert cost.extra["bound"] == "compute+dram"


def test_ifmap_network_known_answer():
    """A 1 x 1 conv whose 64 filters take 64 GLB passes over the same ifmap (m2 = 64, one filter per pass): the 16-bit
    ifmap GIN carries the 4 x 16 x 16 ifmap 64 times, one word per cycle, where the 32 PEs compute in 2,048 cycles."""
    cfg = config_of("eyeriss")
    layer = conv2d("pw", (1, 4, 16, 16), 64, 1, 1, 0)
    cost = rs.evaluate_mapping(layer, cfg, {"m2": 64, "e1": 8, "c1": 4})
    assert cost.extra["pes_used"] == 32
    assert cost.extra["processing_cycles"] == pytest.approx(64 * 4 * 256 + 2 * 64 * 4 / 4, rel=1e-12)
    assert cost.extra["bound"] == "ifmap_net+dram"


def test_images_run_one_after_another_in_the_spads():
    """JSSC Table III runs p = 16 filters per PE with n = 4 images on a 24-word psum spad: the images of a pass go
    through the PE one after another (mapping_space.batch_in_spads: sequential). Interleaved, neither the 4 images' 4 x 3
    ifmap words (12-word spad) nor their 16 x 4 psums would fit."""
    layer = conv2d("conv3", (4, 256, 15, 15), 384, 3, 1, 0)
    mapping = {"m0": 16, "m1": 2, "m2": 2, "c0": 4, "c1": 2, "c2": 32, "e1": 13, "n0": 4}
    assert rs.evaluate_mapping(layer, config_of("eyeriss"), mapping).extra["pes_used"] == 156
    interleaved = config_of("eyeriss", {"mapping_space.batch_in_spads": "interleaved"})
    with pytest.raises(rs.MappingError, match="ifmap spad"):
        rs.evaluate_mapping(layer, interleaved, mapping)
    with pytest.raises(rs.MappingError, match="psum spad"):
        rs.evaluate_mapping(layer, interleaved, {**mapping, "c0": 1, "c2": 128})


def test_chip_option_fields_are_checked():
    with pytest.raises(SpecError, match="filter_net_words_per_cycle"):
        config_of("eyeriss", {"bandwidth.filter_net_words_per_cycle": 0.0})  # serial filter loads need the bus
    with pytest.raises(SpecError, match="batch_in_spads"):
        config_of("eyeriss", {"mapping_space.batch_in_spads": "parallel"})
    with pytest.raises(SpecError, match="row_strips"):
        config_of("eyeriss", {"mapping_space.row_strips": "some"})
    with pytest.raises(SpecError, match="ifmap_pass_words"):
        config_of("eyeriss", {"glb.ifmap_pass_words": -1})
    with pytest.raises(SpecError, match="psum_net_words_per_cycle"):
        config_of("eyeriss", {"bandwidth.psum_net_words_per_cycle": "wide"})


@settings(max_examples=30, deadline=None)
@given(layer=conv_layers())
def test_per_pass_costs_only_add_time(layer):
    """On any mapping the chip's search picks, the networks, the serial filter loads and the strip halos never make
    it faster than without them, each alone or all together (halos where strips overlap, R >= U: with a stride beyond
    the filter a strip skips the rows between windows, which the span without halos moves); its processing cycles
    lie between MACs / PEs in use and its total, and the total stays at or above MACs / peak."""
    chip = config_of("eyeriss")
    cost = rs.map_layer(layer, chip, "energy")
    f = mapping_of(cost, layer, chip)
    mapping = dict(zip(K.MAP_NAMES, (int(v) for v in f)))
    assert cost.latency_s >= layer.macs / (chip.pes * chip.clock_hz) * (1 - 1e-12)
    assert layer.macs / cost.extra["pes_used"] * (1 - 1e-12) <= cost.extra["processing_cycles"] <= cost.cycles * (1 + 1e-12)
    timing_off = dict(CHIP_TIMING_OFF)
    if layer.R < layer.stride[0]:
        del timing_off["options.strip_halo"]
    off = rs.evaluate_mapping(layer, config_of("eyeriss", timing_off), mapping)
    assert cost.cycles >= off.cycles * (1 - 1e-12)
    for key, value in timing_off.items():
        if key == "bandwidth.filter_net_words_per_cycle":
            continue  # serial filter loads need the filter bus (checked with options.filter_load)
        one_off = rs.evaluate_mapping(layer, config_of("eyeriss", {key: value}), mapping)
        assert cost.cycles >= one_off.cycles * (1 - 1e-12), key


@settings(max_examples=25, deadline=None)
@given(layer=conv_layers(), net=st.sampled_from(["ifmap", "filter", "psum"]), objective=st.sampled_from(OBJECTIVES))
def test_wider_networks_never_slow_the_chip(layer, net, objective):
    """Doubling a GLB-to-array network's width never raises a mapping's cycles, nor the latency-optimal layer's;
    the energy, EDP and latency optima stay no worse in their own metric."""
    base = config_of("eyeriss")
    key = f"bandwidth.{net}_net_words_per_cycle"
    wide = config_of("eyeriss", {key: 2 * load_spec("eyeriss").get(key)})
    a, b = rs.map_layer(layer, base, objective), rs.map_layer(layer, wide, objective)
    score = {"latency": lambda c: c.cycles, "energy": lambda c: c.energy_total_j,
             "edp": lambda c: c.cycles * c.energy_total_j}[objective]
    assert score(b) <= score(a) * (1 + 1e-9)
    mapping = dict(zip(K.MAP_NAMES, (int(v) for v in mapping_of(a, layer, base))))
    assert rs.evaluate_mapping(layer, wide, mapping).cycles <= a.cycles * (1 + 1e-12)
