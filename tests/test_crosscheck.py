"""AccelForge cross-check: the fast part (one fixed mapping evaluated live), the stored CSVs, the exporter."""

import importlib.util
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelmodel.validation import accelforge_export as X
from accelmodel.validation import crosscheck as C
from accelmodel.workloads.graph import conv2d, linear, pool


@pytest.fixture(scope="session")
def accelforge():
    """accelforge, or a failure under CI=true (the crosscheck extra is part of `make venv`), else a skip."""
    if importlib.util.find_spec("accelforge") is None:
        msg = "accelforge is not installed (pip install -e '.[crosscheck]'; see DEVELOPERS.md)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    import accelforge
    return accelforge


# ---- the fast live part (CI) ------------------------------------------------------------------------

@pytest.mark.crosscheck
@pytest.mark.parametrize("spec", C.SPECS)
def test_fixed_mapping_live(accelforge, spec):
    """AccelForge evaluates our mapping of one small 3x3 layer; data movement to DRAM and the MAC count agree
    exactly, total energy within the 10 % tolerance, and the stored CSV row is reproduced."""
    kind, layer = C.layer_by_name("c3_8_16")
    mine = C.ours(spec, layer)
    af = C.accelforge_fixed(spec, layer, mine.mapping)
    assert af["af_words_mac"] == layer.macs
    assert af["af_words_dram"] == pytest.approx(mine.accesses["dram"], rel=1e-9)
    assert af["af_energy_mac_pj"] == pytest.approx(mine.energy_pj["mac"], rel=1e-6)
    assert abs(mine.energy_total_pj / af["af_energy_pj"] - 1) <= C.TOLERANCE
    if spec == "generic-small":
        # operand reads, partial sums and tile fills: the same words at every level
        for level in ("rf", "glb"):
            assert af[f"af_words_{level}"] == pytest.approx(mine.accesses[level], rel=1e-9), level
    stored = pd.read_csv(C.FIXED_CSV).set_index(["spec", "layer"]).loc[(spec, layer.name)]
    if stored["versions"] == C.accelforge_versions():
        assert af["af_energy_pj"] == pytest.approx(stored["af_energy_pj"], rel=1e-6)
        assert af["af_cycles"] == pytest.approx(stored["af_cycles"], rel=1e-6)


@pytest.mark.crosscheck
def test_cacti_runs(accelforge):
    """The rebuilt CACTI binary answers (`make cacti`): the Eyeriss 108 KB GLB at 65 nm, one 64-bit read.
    The spec's GLB energy (4 x 15.6 pJ per 64 bits, ISCA Table IV scaling) is within 2x of CACTI's."""
    from hwcomponents_cacti import SRAM
    read = SRAM(tech_node=65e-9, width=64, size=108 * 1024 * 8).read()
    pj = read.energy * 1e12
    assert pj > 0
    assert 0.5 <= (4 * 15.6) / pj <= 2.0


# ---- the stored CSVs ---------------------------------------------------------------------------------

def test_fixed_csv_covers_layers_and_specs():
    df = pd.read_csv(C.FIXED_CSV)
    names = {l.name for _, l in C.crosscheck_layers()}
    assert set(df["layer"]) == names and len(names) >= 10
    assert set(df["spec"]) == set(C.SPECS)
    assert len(df) == len(names) * len(C.SPECS)
    kinds = {k for k, _ in C.crosscheck_layers()}
    assert {"conv1x1", "conv3x3", "strided", "depthwise", "fc"} <= kinds
    assert df["versions"].str.contains("accelforge==").all()


def test_fixed_comparison_figures():
    """The same-mapping agreement the report quotes; our model changing its counting shows up here."""
    fixed = C.fixed_comparison()
    n = len(fixed)
    assert fixed["energy_ok"].sum() >= 29 and fixed["dram_ok"].sum() >= 33 and fixed["latency_ok"].sum() >= 31, (
        fixed[["spec", "layer", "rel_energy", "rel_latency", "rel_words_dram"]])
    # MACs are the one count both sides must share exactly
    assert np.allclose(fixed["ours_words_mac"], fixed["af_words_mac"])
    # unpadded layers move exactly the same DRAM words in both models (strided ones: the span the windows cover)
    plain = fixed[~fixed["layer"].isin(["c3_8_8_pad"])]
    assert np.allclose(plain["ours_words_dram"], plain["af_words_dram"], rtol=0.011)
    # the generic engine's unpadded layers: the same words at every level (operand reads included)
    generic = plain[plain["spec"] == "generic-small"]
    for level in ("rf", "glb", "dram"):
        assert np.allclose(generic[f"ours_words_{level}"], generic[f"af_words_{level}"], rtol=1e-9), level
    assert n == len(C.crosscheck_layers()) * len(C.SPECS)
    # every pair outside the tolerance names its explanation
    from accelmodel.validation.report import EXPLANATIONS
    bad = fixed[~(fixed["energy_ok"] & fixed["latency_ok"] & fixed["dram_ok"] & fixed["words_ok"])]
    for why in bad["why"]:
        assert why and all(key in EXPLANATIONS for key in why.split(", ")), why


#: Pairs where AccelForge's mapper beats ours by more than 2 % on the RS grid: it keeps two output rows per PE and
#: walks them temporally inside the PE (a temporal p loop below the array), which the RS space of the ISCA / JSSC
#: analysis has not (e1 spatial, e3 at DRAM); in AccelForge's model that costs 2.6 % (c3_8_16) and 3.8 % (s2_pw_16_32)
#: less energy at the same cycles. They surfaced when eyeriss-hwnasbench's defaults moved to the grid placement and
#: Timeloop's psum count, under which the two models' energies of one mapping agree within 1.3 % on these layers.
RS_SPACE_GAPS = {("eyeriss-hwnasbench", "c3_8_16"), ("eyeriss-hwnasbench", "s2_pw_16_32")}


def test_best_mapping_criterion_holds_on_every_pair():
    """Issue criterion: our best mapping's EDP <= 1.02 x AccelForge mapper's best, on the hardware each spec
    describes (Eyeriss arrays held to the RS spatial space), every layer of every cross-checked spec but the named
    RS-space gaps (their own strict xfail below)."""
    best = C.mapper_comparison()
    assert len(best) == len(C.crosscheck_layers()) * len(C.SPECS)
    assert set(best.loc[best["spec"].isin(C.EYERISS_SPECS), "af_array"]) == {"rs"}
    known = [(s, l) in RS_SPACE_GAPS for s, l in zip(best["spec"], best["layer"])]
    ok = best["edp_ok"] | pd.Series(known, index=best.index)
    assert ok.all(), best.loc[~ok, ["spec", "layer", "edp_ratio"]]


@pytest.mark.xfail(strict=True, reason="no temporal output-row loop inside the PE in our RS space (RS_SPACE_GAPS)")
def test_best_mapping_criterion_on_the_rs_space_gaps():
    best = C.mapper_comparison()
    gaps = best[[(s, l) in RS_SPACE_GAPS for s, l in zip(best["spec"], best["layer"])]]
    assert len(gaps) == len(RS_SPACE_GAPS)
    assert gaps["edp_ok"].all(), gaps[["spec", "layer", "edp_ratio"]]


def test_mapper_csv_rows_are_sane():
    if not C.MAPPER_CSV.exists():
        pytest.fail(f"{C.MAPPER_CSV} missing: run python -m accelmodel.validation.regenerate_crosscheck")
    best = C.mapper_comparison()
    assert len(best) >= 1
    assert (best["af_edp"] > 0).all() and (best["ours_edp"] > 0).all()
    assert set(best["spec"]) <= set(C.SPECS)


# ---- the exporter ------------------------------------------------------------------------------------

def _random_layer(draw_kind, c, k, hw, stride):
    if draw_kind == "conv3":
        return conv2d("x", (1, c, hw, hw), k, kernel=3, stride=stride, padding=0)
    if draw_kind == "conv1":
        return conv2d("x", (1, c, hw, hw), k, kernel=1, stride=stride, padding=0)
    if draw_kind == "dw":
        return conv2d("x", (1, c, hw, hw), c, kernel=3, stride=stride, groups=c, padding=0)
    return linear("x", (2, c, 1, 1), k)


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["conv3", "conv1", "dw", "fc"]), st.sampled_from([2, 4, 8, 16]), st.sampled_from([4, 8, 16]),
       st.integers(5, 14), st.sampled_from([1, 2]), st.sampled_from(C.SPECS))
def test_exported_nest_covers_every_rank(kind, c, k, hw, stride, spec):
    """Our best mapping's loop nest covers every rank exactly (Eyeriss: trip counts multiply to the rank;
    generic: tile x trips >= rank with less than one tile of slack)."""
    config = C.config_for(spec)
    layer = C.as_costed(_random_layer(kind, c, k, hw, stride), config)
    mine = C.ours(spec, layer)
    dims = X.layer_dims(layer)
    if spec.startswith("eyeriss"):
        nest = X.eyeriss_nest(layer, mine.mapping, config)
        nodes = X.mapping_nodes(nest, dims, {"*": ("array", "PE")})
        assert nodes[-1][0] == "Compute"
        # each array dimension holds no more than its fanout (grid: 12 rows, 14 columns)
        fanout = {"rows": config.pe_rows, "cols": config.pe_cols, "array": config.pes}
        used: dict = {}
        for kind_, var, *rest in (e for e in nest if e[0] == "S"):
            name = rest[1][0] if len(rest) > 1 else "array"
            used[name] = used.get(name, 1) * rest[0]
        assert all(used[n] <= fanout[n] for n in used)
        assert set(used) == ({"rows", "cols"} if config.placement == "grid" else {"array"})
    else:
        nest = X.generic_nest(layer, config, mine.mapping)
        for var in "ngmcpqrs":
            loops = [e for e in nest if e[0] in ("T", "S") and e[1] == var and e[2] > 1]
            if not loops:
                continue  # the whole rank is one tile at every level
            outer = loops[0]
            assert outer[2] * outer[3] >= dims[var] > (outer[2] - 1) * outer[3]
    text = C.export_spec(spec, layer, mine.mapping)
    assert "workload:" in text and "mapping:" in text and "!Compute" in text


def test_export_errors():
    with pytest.raises(X.ExportError, match="no MACs"):
        X.layer_dims(pool("p", (1, 8, 8, 8), kernel=2, stride=2))
    with pytest.raises(X.ExportError, match="stride"):
        X.layer_dims(conv2d("c", (1, 8, 9, 9), 8, kernel=3, stride=(1, 2), padding=0))
    kind, layer = C.layer_by_name("c3_8_16")
    bad = dict(C.ours("eyeriss", layer).mapping)
    bad["m3"] *= 2
    with pytest.raises(X.ExportError, match="multiply"):
        X.mapping_nodes(X.eyeriss_nest(layer, bad), X.layer_dims(layer), {"*": ("array", "PE")})
    with pytest.raises(ValueError, match="not cross-checked"):
        C.config_for("generic-large")


def test_rs_space_export_pins_the_filter_rows():
    """Held to the RS spatial space, the exported array must spread all R filter rows of the layer and may
    spread only p, m, c and g besides; free, it has no loop bounds."""
    _, layer = C.layer_by_name("c5_4_8")
    arch = X.eyeriss_arch(C.config_for("eyeriss"), X.layer_dims(layer)["r"])
    bounds = dict(arch)["Container"]["spatial"][0]["loop_bounds"]
    assert {"expression": "r", "operator": "==", "value": 5} in bounds
    assert {"expression": "~(r | p | m | c | g)", "operator": "==", "value": 1} in bounds
    assert "loop_bounds" not in dict(X.eyeriss_arch(C.config_for("eyeriss")))["Container"]["spatial"][0]
