"""Untrusted and extreme input (issue 18): every bad value is one clear library error (a ValueError subclass
whose message names the field), never code execution, a hang, a deep traceback or a silently wrong answer.

The first part pins each defect the issue found, with its error class and a message fragment; calls that used
to hang run in a subprocess with a timeout, so a regression fails instead of stalling the suite. The second part
fuzzes (hypothesis) specs, budgets, layer shapes, network names and op lists: every call either returns a
finite, positive estimate or raises a ValueError. Layers there stay small, so every search is quick.
"""

import copy
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import accelmodel
from accelmodel import cli, estimate
from accelmodel.estimate import EstimateError
from accelmodel.specs import MAX_SPEC_VALUES, ArchSpec, SpecError, load_spec, parse_yaml
from accelmodel.workloads import LayerGraph, conv2d, elementwise, get, global_avgpool, linear, nasbench201, pool
from accelmodel.workloads import graph as G
from accelmodel.workloads.fbnet import fbnet
from accelmodel.mappers.eyeriss_rs import MappingError

NB201 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
ARCHS = ("eyeriss", "eyeriss-hwnasbench", "fpga-zc706", "fpga-e2e-small", "generic-medium", "nahas-edge")


def run_isolated(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter; a hang fails the test instead of stalling the suite."""
    try:
        return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"did not finish within {timeout} s: {code}")


def tiny_net(batch: int = 1) -> LayerGraph:
    """Every operator kind on small shapes: each mapper's search takes milliseconds."""
    g = LayerGraph("tiny", (batch, 4, 8, 8))
    c1 = g.add(conv2d("c1", g.input_shape, 8, 3, 1))
    c2 = g.add(conv2d("c2", c1.out_shape, 8, 3, 1, groups=2), c1.name)
    g.add(elementwise("add", "add", c2.out_shape, 2), [c1.name, c2.name])
    p = g.add(pool("pool", c2.out_shape, "avg", 2, 2, 0), "add")
    g.add(elementwise("skip", "identity", p.out_shape), p.name)
    gp = g.add(global_avgpool("gap", p.out_shape), "skip")
    g.add(linear("fc", gp.out_shape, 10), gp.name)
    return g


def check_estimate(est) -> None:
    """A returned estimate is finite and positive, per layer and in total."""
    assert math.isfinite(est.latency_ms) and (est.latency_ms > 0 or est.macs == 0)
    assert math.isfinite(est.energy_mj) and est.energy_mj >= 0
    lat = est.layers["latency_ms"].to_numpy(dtype=float)
    ene = est.layers["energy_mj"].to_numpy(dtype=float)
    assert np.isfinite(lat).all() and (lat >= 0).all() and np.isfinite(ene).all() and (ene >= 0).all()
    assert (lat[est.layers["macs"].to_numpy() > 0] > 0).all()


# ---- YAML --------------------------------------------------------------------------------------------

ALIAS_BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 10) if prev else ', '.join(['x'] * 10)}]\n"
    for prev, name in zip([None] + list("abcdefgh"), "abcdefghi")) + "paradigm: eyeriss_rs\n"


def test_alias_bomb_fails_fast_without_expanding(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(ALIAS_BOMB)  # ~1 KB, 10^9 leaves when expanded
    assert len(ALIAS_BOMB) < 1200
    res = run_isolated(f"""
        import accelmodel
        try:
            accelmodel.load_spec({str(path)!r}).digest
        except accelmodel.SpecError as exc:
            print("SpecError:", exc)
    """, timeout=60)
    assert "SpecError:" in res.stdout and "aliases expand" in res.stdout, res.stdout + res.stderr
    assert str(path) in res.stdout and "line " in res.stdout and f"{MAX_SPEC_VALUES:,}" in res.stdout


def test_alias_cycle_is_refused():
    with pytest.raises(SpecError, match="cycle"):
        parse_yaml("a: &a [1, *a]\n", "cyc.yaml")


def test_python_tag_does_not_run_and_names_file_and_line(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(f"paradigm: eyeriss_rs\nx: !!python/object/apply:builtins.open [{str(marker)!r}, 'w']\n")
    with pytest.raises(SpecError, match=r"evil\.yaml', line 2, column 4: tag .*python/object/apply.* not allowed"):
        load_spec(path)
    assert not marker.exists()


@pytest.mark.parametrize("text, fragment", [
    ("x: !!binary aGVsbG8=\n", "tag 'tag:yaml.org,2002:binary' is not allowed"),
    ("x: !!set {a, b}\n", "tag 'tag:yaml.org,2002:set' is not allowed"),
    ("x: !!timestamp 2001-12-14\n", "tag 'tag:yaml.org,2002:timestamp' is not allowed"),
    ("x: !custom 1\n", "tag '!custom' is not allowed"),
    ("a: 1\nb: 2\na: 3\n", "line 3, column 1: while reading a mapping; duplicate key 'a' (first at line 1)"),
    ("clock_mhz: .nan\n", "line 1, column 12: '.nan' is not a finite number"),
    ("clock_mhz: -.inf\n", "'-.inf' is not a finite number"),
    ("clock_mhz: 1.0e+400\n", "'1.0e+400' is not a finite number"),
    ("a: [1, 2\nb: 3\n", "line 2, column 2"),
    ("a: " + "[" * 5000 + "]" * 5000 + "\n", "RecursionError"),
])
def test_yaml_problems_name_the_file_and_what(text, fragment):
    with pytest.raises(SpecError, match="spec file 'f.yaml'") as info:
        parse_yaml(text, "f.yaml")
    assert fragment in str(info.value)


def test_yaml_core_types_only_dates_stay_strings():
    assert parse_yaml("d: 2001-12-14\nm: {<<: {a: 1}, b: 2}\n", "f.yaml") == {"d": "2001-12-14", "m": {"a": 1, "b": 2}}


def test_binary_file_and_directory_as_spec(tmp_path):
    binary = tmp_path / "blob.yaml"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(SpecError, match=r"blob\.yaml' is not a UTF-8 text \(YAML\) file"):
        load_spec(binary)
    with pytest.raises(SpecError, match="is not a regular file"):
        load_spec(str(tmp_path) + os.sep)
    big = tmp_path / "big.yaml"
    big.write_text("a: 1\n" + "#" * (1 << 20))
    with pytest.raises(SpecError, match="a spec is at most 1,048,576"):
        load_spec(big)


@pytest.mark.parametrize("arch", [None, 123, 1.5, b"", "", ["eyeriss"]])
def test_arch_of_the_wrong_type(arch):
    with pytest.raises(SpecError, match="arch must be a built-in spec name"):
        estimate("resnet18", arch)


def test_every_builtin_spec_loads_under_the_strict_rules():
    for name in accelmodel.available_specs():
        spec = load_spec(name)
        assert spec.digest and spec.data["paradigm"] == spec.paradigm


# ---- spec values and budgets ---------------------------------------------------------------------------

@pytest.mark.parametrize("arch, key, value", [
    ("fpga-zc706", "clock_mhz", float("nan")),       # looped inside Numba (or not) from run to run
    ("fpga-zc706", "clock_mhz", float("inf")),       # gave 0 ms and 0 mW
    ("eyeriss", "energy_pj.rf", float("inf")),        # gave inf energy
    ("fpga-zc706", "power.board_w", float("nan")),    # gave NaN energy
    ("nahas-edge", "local_memory_mb", float("inf")),  # was accepted
    ("fpga-zc706", "ddr_gbps", float("nan")),         # "raise the BRAM budget"
    ("eyeriss", "bandwidth.dram_words_per_cycle", float("nan")),
    ("generic-medium", "io_bandwidth_gbps", np.float64("nan")),
])
def test_non_finite_numbers_are_refused_naming_the_field(arch, key, value):
    field = {"clock_mhz": "clock_mhz", "local_memory_mb": "memory.local_memory_mb", "ddr_gbps":
             "memory.ddr_peak_gbps", "io_bandwidth_gbps": "memory.io_bandwidth_gbps"}.get(key, key)
    with pytest.raises(SpecError, match=rf"field '{field}' is (nan|inf); every number must be finite"):
        estimate(tiny_net(), arch, budget={key: value})


def test_nan_fpga_clock_in_yaml_cannot_hang(tmp_path):
    text = (accelmodel.specs._builtin_dir() / "fpga-zc706.yaml").read_text().replace("clock_mhz: 200", "clock_mhz: .nan")
    path = tmp_path / "fpga-nan.yaml"
    path.write_text(text)
    res = run_isolated(f"""
        import accelmodel
        try:
            accelmodel.estimate("nb201:{NB201}", {str(path)!r})
        except accelmodel.SpecError as exc:
            print("SpecError:", exc)
    """)
    assert "SpecError:" in res.stdout and "'.nan' is not a finite number" in res.stdout, res.stdout + res.stderr


@pytest.mark.parametrize("arch, budget", [
    ("fpga-zc706", {"dsp": np.int64(723)}),
    ("fpga-zc706", {"dsp": np.int32(723), "bram": np.uint16(545)}),
    ("eyeriss", {"clock_mhz": np.int64(200)}),
    ("eyeriss", {"clock_mhz": np.float32(200.0)}),
    ("nahas-edge", {"pes_x": np.int64(4), "local_memory_mb": np.float64(2.0)}),
])
def test_numpy_scalars_are_numbers_in_every_budget(arch, budget):
    plain = {k: v.item() for k, v in budget.items()}
    a, b = estimate(tiny_net(), arch, budget=budget), estimate(tiny_net(), arch, budget=plain)
    assert a.latency_ms == b.latency_ms and a.energy_mj == b.energy_mj


@pytest.mark.parametrize("arch, budget, error, fragment", [
    ("eyeriss", [("clock_mhz", 100)], ValueError, "budget must be a dict"),
    ("fpga-zc706", 0, ValueError, "budget must be a dict"),
    ("eyeriss", {1: 2}, SpecError, "override key 1 must be a dotted field path"),
    ("eyeriss", {"clock_mhzz": 100}, SpecError, "cannot override unknown field 'clock_mhzz'"),
    ("fpga-zc706", {"dspp": 100}, SpecError, "unknown budget/override key 'dspp'"),
    ("nahas-edge", {"pes": 4}, SpecError, "unknown parameter 'pes'"),
    ("eyeriss", {"clock_mhz": True}, SpecError, "field 'clock_mhz' must be float, got True"),
    ("fpga-zc706", {"dsp": 723.0}, SpecError, "field 'budget.dsp' must be int, got 723.0"),
    ("eyeriss", {"clock_mhz": object()}, SpecError, "field 'clock_mhz' is <object"),
    ("eyeriss", {"clock_mhz": 10**30}, SpecError, "integers must be within"),
    ("nahas-edge", {"pes_x": 10**6}, SpecError, "field 'pe_array.pes_x' is 1000000; it must be <= 64"),
    ("nahas-edge", {"simd_units": 2**40, "register_file_kb": 2**40}, SpecError, "MACs per cycle (PEs x compute_lanes"),
    ("generic-medium", {"engine.dsp_per_mac": 2.6e-306}, SpecError, "gives inf MACs per cycle, above"),  # OverflowError
])
def test_bad_budgets(arch, budget, error, fragment):
    with pytest.raises(error) as info:
        estimate(tiny_net(), arch, budget=budget)
    assert fragment in str(info.value)


def test_sweep_space_values():
    from accelmodel import search

    assert search.search_space({"pes_x": [np.int64(4)], "local_memory_mb": [np.float64(1.5)]})["pes_x"] == [4]
    with pytest.raises(ValueError, match="value nan must be a positive, finite number"):
        search.search_space({"io_bandwidth_gbps": [float("nan")]})
    with pytest.raises(ValueError, match="the space has 1,224,704 points; a sweep takes at most 1,000,000"):
        search.search_space({"pes_x": range(1, 65), "pes_y": range(1, 65), "simd_units": range(1, 300)})


def test_misspelt_optional_field_is_not_ignored():
    data = copy.deepcopy(load_spec("eyeriss-hwnasbench").data)
    # (min_set_rows is named by the nasbench201 override, which refuses the misspelling first)
    data["mapping_space"]["spatial_group"] = data["mapping_space"].pop("spatial_groups")
    with pytest.raises(SpecError, match=r"key 'spatial_group' is not a field this mapper reads; did you mean "
                                        r"'spatial_groups' \(for 'mapping_space.spatial_groups'\)"):
        estimate(tiny_net(), data)


@pytest.mark.parametrize("arch, section", [("eyeriss", "glb"), ("eyeriss-hwnasbench", None), ("fpga-zc706", "engine"),
                                           ("fpga-e2e-small", "layerwise"), ("generic-medium", "memory"),
                                           ("nahas-edge", "pe_array")])
def test_unknown_spec_key_is_refused_not_ignored(arch, section):
    data = copy.deepcopy(load_spec(arch).data)
    (data[section] if section else data)["bogus_knob"] = 3
    path = f"{section}.bogus_knob" if section else "bogus_knob"
    with pytest.raises(SpecError, match=rf"spec '{arch}': the \w+ mapper does not read field\(s\) '{path}'"):
        estimate(tiny_net(), data)


def test_unread_option_field_is_refused_but_checked_when_present():
    # a misspelt field is refused with the closest field read ...
    data = copy.deepcopy(load_spec("fpga-zc706").data)
    data["layerwise"]["weights"] = "streamed"
    data["layerwise"]["weight_bufer_kb"] = 64
    with pytest.raises(SpecError, match=r"'layerwise.weight_bufer_kb' \(did you mean 'layerwise.weight_buffer_kb'"):
        estimate(tiny_net(), data)
    # ... a section the spec's options leave unused is refused (a budget-kind generic spec has no PE array) ...
    data = copy.deepcopy(load_spec("generic-medium").data)
    data["pe_array"] = {"pes_x": 8, "pes_y": 8}
    with pytest.raises(SpecError, match=r"does not read field\(s\) 'pe_array' with this spec's options"):
        estimate(tiny_net(), data)
    # ... while a section an override switches on is read, and checked, under any option
    data = copy.deepcopy(load_spec("fpga-zc706").data)
    data["layerwise"]["block_pipeline"]["pointwise_lanes"] = 0
    with pytest.raises(SpecError, match=r"'layerwise.block_pipeline.pointwise_lanes' is 0; it must be >= 1"):
        estimate(tiny_net(), data)


def test_every_builtin_spec_and_space_variant_reads_all_its_fields():
    from accelmodel.mappers import get_mapper
    from accelmodel.specs import available_specs

    for name in available_specs():
        spec = load_spec(name)
        for space in [None, *(spec.data.get("search_space_overrides") or {})]:
            variant = spec.for_space(space)
            get_mapper(variant.paradigm).configure(variant)  # refuses any field it does not read


def test_extreme_but_finite_spec_values_never_leave_as_inf():
    # finite inputs whose products overflow: the boundary guard refuses the result
    with pytest.raises(EstimateError, match=r"energy_mj=inf"):
        estimate("resnet18", "eyeriss", budget={"energy_pj.rf": 1.7e308})
    with pytest.raises(EstimateError, match=r"latency_ms=inf"):
        estimate(tiny_net(), "eyeriss", budget={"clock_mhz": 1e-310})


def test_dict_specs_hold_plain_data_only():
    data = copy.deepcopy(load_spec("eyeriss").data)
    data["clock_mhz"] = np.int64(200)
    assert load_spec(data).data["clock_mhz"] == 200 and type(load_spec(data).data["clock_mhz"]) is int
    data["clock_mhz"] = {1, 2}
    with pytest.raises(SpecError, match=r"field 'clock_mhz' is \{1, 2\} \(set\)"):
        load_spec(data)
    shared = [1] * 1000
    with pytest.raises(SpecError, match="more than 100,000 values"):
        load_spec({"paradigm": "eyeriss_rs", "x": [shared] * 1000})
    loop: dict = {"paradigm": "eyeriss_rs"}
    loop["self"] = loop
    with pytest.raises(SpecError, match=r"field 'self' contains itself \(a cycle\)"):
        load_spec(loop)
    with pytest.raises(SpecError, match="spec name must be a non-empty string"):
        ArchSpec("", "eyeriss_rs", "", {})


# ---- layers, networks and estimate() arguments ---------------------------------------------------------

@pytest.mark.parametrize("call, fragment", [
    (lambda: conv2d("c", (1, 8, 8, 8), 8, 3, groups=True), "groups must be an int, got True"),
    (lambda: conv2d("c", (1, 8, 8, 8), 8, True), "kernel must be an int or a pair of ints, got True"),
    (lambda: conv2d("c", (1, 8, 8, 8), 8.0, 3), "out_channels must be an int, got 8.0"),
    (lambda: conv2d("c", (1, 8.0, 8, 8), 8, 3), "in_shape must be four ints"),
    (lambda: conv2d("c", "1888", 8, 3), "in_shape must be (N, C, H, W)"),
    (lambda: conv2d("c", (1, 8, 8, 8), 8, "ab"), "kernel must be an int or a pair of ints, got 'ab'"),
    (lambda: conv2d("c", (1, 8, 8, 8), 8, 3, stride=0), "must be positive"),
    (lambda: pool("p", (1, 1, 1, 1), "max", 1, (1, 0)), "stride (1, 0) must be positive"),  # was ZeroDivisionError
    (lambda: linear("f", (10**11, 512, 1, 1), 1000), "batch N=100,000,000,000 exceeds 65,536"),
    (lambda: linear("f", (1, 512, 1, 1), 10**6), "channels C=1,000,000 exceeds 131,072"),
    (lambda: conv2d("c", (1, 3, 10**5, 8), 8, 3), "height H=100,000 exceeds 16,384"),
    (lambda: conv2d("c", (1, 3, 8, 8), 8, 3, padding=10**5), "padding (100000, 100000) exceeds 16,384"),
    (lambda: elementwise("a", "add", (1, 8, 8, 8), 10**9), "add needs 2..1,024 inputs"),
    (lambda: conv2d("c", (4096, 4096, 512, 512), 4096, 11), "MACs exceed 1,125,899,906,842,624 (2^50)"),
    (lambda: conv2d("c", (65536, 131072, 16384, 16384), 1, 1), "elements; a tensor may have at most"),
    (lambda: G.Layer("c", "conv2d", (1, 8, 8, 8), (1, 8, 8, 8), (3, 3), 1, 1, groups=1, bias=1), "bias must be True"),
    (lambda: G.Layer("a", "add", (1, 8, 8, 8), (1, 8, 8, 8)), "add needs >= 2 inputs, got 1"),
    (lambda: G.Layer("x", ["conv2d"], (1, 8, 8, 8), (1, 8, 8, 8)), "op ['conv2d'] is not one of"),
    (lambda: LayerGraph("n", (0, 3, 8, 8)), "network 'n': input_shape has a non-positive size"),
    (lambda: LayerGraph(None, (1, 3, 8, 8)), "network name must be a non-empty string"),
    (lambda: nasbench201(None), "NAS-Bench-201 arch must be an arch string"),
    (lambda: nasbench201([None] * 6), "op None is not one of"),
    (lambda: nasbench201(NB201, dataset=["cifar10"]), "dataset ['cifar10'] is not one of"),
    (lambda: get("resnet18", batch=99999999999), "batch 99,999,999,999 exceeds 65,536"),
    (lambda: get("resnet18", batch=2.0), "batch must be a positive int"),
    (lambda: get("resnet18", dataset="cifar10"), "'resnet18' is an ImageNet network"),
    (lambda: fbnet(None), "FBNet ops must be a string or a sequence"),
])
def test_bad_layer_and_network_arguments(call, fragment):
    with pytest.raises(ValueError) as info:
        call()
    assert fragment in str(info.value)


def test_numpy_integers_build_layers():
    layer = conv2d("c", np.array([1, 8, 8, 8]), np.int64(16), np.int32(3), np.int64(1), groups=np.int16(2))
    assert layer.in_shape == (1, 8, 8, 8) and type(layer.in_shape[0]) is int and layer.groups == 2
    assert type(layer.groups) is int and nasbench201(NB201, batch=np.int64(2)).batch == 2


def test_huge_batch_cannot_hang():
    # Eyeriss' divisor enumeration is O(batch) and the generic mapper allocated batch-sized arrays
    res = run_isolated("""
        import accelmodel
        from accelmodel.workloads import LayerGraph, linear
        for call in (lambda: accelmodel.estimate("resnet18", "eyeriss", batch=99999999999),
                     lambda: accelmodel.estimate(accelmodel.workloads.LayerGraph("fc", (10**11, 512, 1, 1)),
                                                 "generic-medium")):
            try:
                call()
            except ValueError as exc:
                print("ValueError:", exc)
    """)
    assert res.stdout.count("exceeds 65,536") == 2, res.stdout + res.stderr


def test_ignored_estimate_arguments_are_errors():
    net = get("resnet18")
    with pytest.raises(ValueError, match="batch=8 applies to network names; the LayerGraph 'resnet18' has batch 1"):
        estimate(net, "eyeriss", batch=8)
    with pytest.raises(ValueError, match="dataset='cifar10' applies to network names"):
        estimate(net, "eyeriss", dataset="cifar10")
    with pytest.raises(ValueError, match="'resnet18' is an ImageNet network"):
        estimate("resnet18", "eyeriss", dataset="cifar10")
    # what agrees with the graph is not ignored, so it is accepted
    assert estimate(net, "eyeriss", batch=1, dataset="imagenet").latency_ms == estimate(net, "eyeriss").latency_ms
    with pytest.raises(ValueError, match="network must be a LayerGraph or a name"):
        estimate(123, "eyeriss")


@pytest.mark.parametrize("objective, fragment", [
    ("", "objective '' is not one of"), (0, "objective must be a string or None"),
    ("Latency", "objective 'Latency' is not one of"), (False, "objective must be a string or None"),
])
def test_objective_never_falls_back_silently(objective, fragment):
    with pytest.raises(ValueError) as info:
        estimate(tiny_net(), "eyeriss", objective=objective)
    assert fragment in str(info.value)


@pytest.mark.parametrize("arch", ARCHS)
def test_empty_network_is_an_error_on_every_paradigm(arch):
    with pytest.raises(ValueError, match="network 'empty' has no layers"):
        estimate(LayerGraph("empty", (1, 3, 32, 32)), arch)


def test_nan_layer_cost_is_refused_not_summed_to_zero(monkeypatch):
    from accelmodel.mappers import eyeriss_rs

    real = eyeriss_rs.map_layer

    def nan_for_c2(layer, config, objective):
        cost = real(layer, config, objective)
        if layer.name == "c2":
            cost = type(cost)(**{**cost.__dict__, "latency_s": float("nan")})
        return cost

    monkeypatch.setattr(eyeriss_rs, "map_layer", nan_for_c2)
    monkeypatch.setattr(sys.modules["accelmodel.estimate"], "_LAYER_CACHE", {})
    with pytest.raises(EstimateError, match=r"layer 'c2' \(.* MACs\) got latency_ms=nan"):
        estimate(tiny_net(), "eyeriss")

    def zero_for_c1(layer, config, objective):
        cost = real(layer, config, objective)
        return type(cost)(**{**cost.__dict__, "latency_s": 0.0}) if layer.name == "c1" else cost

    monkeypatch.setattr(eyeriss_rs, "map_layer", zero_for_c1)
    monkeypatch.setattr(sys.modules["accelmodel.estimate"], "_LAYER_CACHE", {})
    with pytest.raises(EstimateError, match=r"layer 'c1' .* got latency_ms=0.0"):
        estimate(tiny_net(), "eyeriss")


# ---- mapper messages and overflow ----------------------------------------------------------------------

@pytest.mark.parametrize("batch", [1, 2])
def test_eyeriss_names_the_mapping_space_rule_not_the_spad(batch):
    # 7x7 stride 2 on a wide input: one output row per PE set fits the GLB, two (min_set_rows: 2) do not; the
    # message used to blame the global buffer (batch 1) or the ifmap spad (batch 2), which raising does not fix
    # (the rule is DNN-Chip Predictor's: eyeriss-hwnasbench as it applies to NAS-Bench-201 networks)
    dcp = load_spec("eyeriss-hwnasbench").for_space("nasbench201")
    net = LayerGraph("wide", (batch, 3, 8192, 8192))
    net.add(conv2d("conv7", net.input_shape, 64, 7, 2))
    with pytest.raises(MappingError, match=r"cause: the spec's mapping_space.min_set_rows=2: a PE set of e1=2 output "
                                           r"rows breaks the global buffer 65536 words"):
        estimate(net, dcp)
    check_estimate(estimate(net, dcp, budget={"mapping_space.min_set_rows": 1}))


def test_eyeriss_genuine_capacity_is_still_named():
    net = LayerGraph("tall", (1, 3, 64, 64))
    net.add(conv2d("conv13", net.input_shape, 8, 13, 1))
    with pytest.raises(MappingError, match="binding capacity: filter height R=13 exceeds the 12 PE rows"):
        estimate(net, "eyeriss")


def test_layer_beyond_int64_macs_is_refused_before_any_kernel():
    # 2^61 MACs used to overflow int64 in the Eyeriss kernel (0 MAC energy)
    with pytest.raises(ValueError, match=r"MACs exceed 1,125,899,906,842,624 \(2\^50\)"):
        conv2d("c", (4096, 4096, 512, 512), 4096, 11)
    # pooling costed as a dense C x C conv can pass 2^62 within the layer bounds: the RS mapper refuses it
    net = LayerGraph("pool", (65536, 131072, 64, 64))
    net.add(pool("p", net.input_shape, "avg", 3, 1))
    with pytest.raises(MappingError, match=r"the kernel counts in 64 bits and takes at most .* \(2\^62\)"):
        estimate(net, "eyeriss-hwnasbench")


# ---- ONNX --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("attrs, fragment", [
    ({}, "attribute 'kernel_shape' is missing"),
    ({"kernel_shape": [2, 2], "strides": [0, 0]}, "attribute strides=[0, 0] must be 2 ints >= 1"),
    ({"kernel_shape": [0, 2]}, "attribute kernel_shape=[0, 2] must be 2 ints >= 1"),
    ({"kernel_shape": [2, 2], "pads": [-1, 0, 0, 0]}, "attribute pads=[-1, 0, 0, 0] must be 4 ints >= 0"),
])
def test_onnx_pool_attributes(attrs, fragment):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    g = helper.make_graph([helper.make_node("MaxPool", ["x"], ["y"], name="pool", **attrs)], "n", [x], [y])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ValueError, match="MaxPool node 'pool'") as info:
        accelmodel.workloads.from_onnx(model)
    assert fragment in str(info.value)
    with pytest.raises(ValueError, match="from_onnx takes a path or an onnx.ModelProto"):
        accelmodel.workloads.from_onnx(None)
    del onnx


# ---- CLI -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, fragment", [
    (["estimate", "resnet18", "--arch", "{binary}"], "is not a UTF-8 text (YAML) file"),
    (["estimate", "resnet18", "--arch", "{bomb}"], "aliases expand"),
    (["estimate", "resnet18", "--arch", "eyeriss", "--batch", "99999999999"], "exceeds 65,536"),
    (["estimate", "resnet18", "--arch", "eyeriss", "--objective", ""], "objective '' is not one of"),
    (["estimate", "resnet18", "--arch", "eyeriss", "--dataset", "cifar10"], "is an ImageNet network"),
    (["estimate", "nb201:bogus", "--arch", "eyeriss"], "NAS-Bench-201 arch string 'bogus'"),
])
def test_cli_one_line_per_error(argv, fragment, tmp_path, capsys):
    (tmp_path / "blob.yaml").write_bytes(bytes(range(256)))
    (tmp_path / "bomb.yaml").write_text(ALIAS_BOMB)
    argv = [a.format(binary=tmp_path / "blob.yaml", bomb=tmp_path / "bomb.yaml") for a in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("accelmodel estimate: error: ") and fragment in err, err


def test_cli_internal_error_is_one_line_too(monkeypatch, capsys):
    def broken(*a, **k):
        raise TypeError("a bug")

    monkeypatch.setattr(sys.modules["accelmodel.estimate"], "estimate", broken)
    assert cli.main(["estimate", "resnet18", "--arch", "eyeriss"]) == 3
    err = capsys.readouterr().err
    assert err == ("accelmodel estimate: internal error: TypeError: a bug (set ACCELMODEL_TRACEBACK=1 for the "
                   "traceback)\n")


def test_cli_subprocess_has_no_traceback(tmp_path):
    (tmp_path / "evil.yaml").write_text("paradigm: !!python/object/apply:os.system ['echo PWNED']\n")
    res = subprocess.run([sys.executable, "-m", "accelmodel.cli", "estimate", "resnet18", "--arch",
                          str(tmp_path / "evil.yaml")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr and "PWNED" not in res.stdout + res.stderr
    assert res.stderr.count("\n") == 1 and "evil.yaml', line 1, column 11" in res.stderr


# ---- fuzz ----------------------------------------------------------------------------------------------

#: ACCELMODEL_FUZZ_EXAMPLES=2000 fuzzes deeper offline (60 keeps the suite quick)
FUZZ = settings(max_examples=int(os.environ.get("ACCELMODEL_FUZZ_EXAMPLES", "60")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

#: odd values a field may be given: wrong types, non-finite, zero, negative, huge, numpy scalars
odd_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-4, max_value=300),
    st.sampled_from([0, 1, -1, 2, 0.5, 1e-300, 1e300, True, False, None, "", "latency", "none", [], {}, [1, 2],
                     [0], {"a": 1}, "1", (3,)]),
    st.integers(min_value=-10, max_value=10**6).map(np.int64),
    st.floats(min_value=-1e6, max_value=1e6).map(np.float64),
)


def near(value):
    """Values near a valid one (more of them get past the type checks and reach the mappers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return odd_values
    factors = st.sampled_from([0, -1, 1e-9, 0.3, 0.5, 2, 3, 7, 64, 1e6, 1e12])
    if isinstance(value, int):
        return factors.map(lambda f: int(value * f) if abs(value * f) < 2**62 else value * f)
    return factors.map(lambda f: value * f)


def leaf_paths(data, prefix=()):
    """Key tuples of every leaf (keys may contain dots: search_space_overrides)."""
    for key, value in data.items():
        if isinstance(value, dict) and value:
            yield from leaf_paths(value, prefix + (key,))
        else:
            yield prefix + (key,)


def set_path(data, keys, value):
    for key in keys[:-1]:
        data = data[key]
    data[keys[-1]] = value


def outcome(call, *, names=()):
    """Run `call`: a ValueError (with a message) or a finite, positive estimate; anything else fails."""
    try:
        result = call()
    except ValueError as exc:
        assert str(exc).strip(), f"empty message from {type(exc).__name__}"
        if names and isinstance(exc, SpecError):
            assert any(n in str(exc) for n in names) or "field" in str(exc), str(exc)
        return exc
    if isinstance(result, accelmodel.Estimate):
        check_estimate(result)
    return result


@FUZZ
@given(arch=st.sampled_from(ARCHS), data=st.data())
def test_fuzz_spec_fields(arch, data):
    spec = copy.deepcopy(load_spec(arch).data)
    paths = sorted(set(leaf_paths(spec)) - {("name",), ("description",)})
    chosen = data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3, unique=True))
    for keys in chosen:
        original = load_spec(arch).data
        for key in keys:
            original = original[key]
        set_path(spec, keys, data.draw(st.one_of(odd_values, near(original), near(original))))
    outcome(lambda: estimate(tiny_net(), spec), names=[k[-1].split(".")[-1] for k in chosen])


BUDGET_KEYS = {
    "eyeriss": ["clock_mhz", "word_bits", "pe_array.rows", "pe_array.cols", "spads.ifmap_words", "glb.kb",
                "energy_pj.mac", "bandwidth.dram_words_per_cycle", "options.dram_overlap", "mapping_space.min_set_rows",
                "options.ifmap_zero_fraction", "conventions.pooling"],
    "fpga-zc706": ["dsp", "bram", "clock_mhz", "data_bits", "ddr_gbps", "ddr_efficiency", "max_layers_per_chunk",
                   "layer_overhead_cycles", "power_mode", "depthwise", "layerwise_max_input_lanes",
                   "layerwise_max_output_lanes", "layerwise_weights", "engine.input_lanes", "power.board_w"],
    "nahas-edge": ["pes_x", "pes_y", "compute_lanes", "simd_units", "simd_width", "register_file_kb",
                   "local_memory_mb", "io_bandwidth_gbps", "clock_ghz", "mapspace", "energy_pj.mac"],
    "generic-medium": ["dsp", "on_chip_mbit", "simd_width", "io_bandwidth_gbps", "clock_ghz", "mapspace",
                       "engine.dsp_per_mac", "memory.on_chip_fraction"],
}


@FUZZ
@given(arch=st.sampled_from(sorted(BUDGET_KEYS)), data=st.data(),
       objective=st.one_of(st.none(), st.sampled_from(["latency", "energy", "edp", "balanced", "", "fast"]),
                           st.integers(-1, 1)))
def test_fuzz_budgets_and_objectives(arch, data, objective):
    keys = data.draw(st.lists(st.sampled_from(BUDGET_KEYS[arch]), min_size=1, max_size=3, unique=True))
    budget = {k: data.draw(odd_values) for k in keys}
    outcome(lambda: estimate(tiny_net(), arch, objective=objective, budget=budget),
            names=[k.split(".")[-1] for k in keys])


small = st.integers(min_value=1, max_value=24)
odd_int = st.one_of(small, st.integers(-3, 0), st.sampled_from([True, 2.0, "3", None, (2, 2), (1, 0), 10**12]),
                    small.map(np.int64))


@FUZZ
@given(op=st.sampled_from(["conv", "linear", "pool", "gap", "add", "identity"]), n=odd_int, c=odd_int, h=odd_int,
       k=odd_int, r=odd_int, s=odd_int, pad=st.one_of(st.none(), odd_int), groups=odd_int,
       arch=st.sampled_from(ARCHS))
def test_fuzz_layer_shapes(op, n, c, h, k, r, s, pad, groups, arch):
    def build():
        shape = (n, c, h, h)
        if op == "conv":
            layer = conv2d("x", shape, k, r, s, pad, groups=groups)
        elif op == "linear":
            layer = linear("x", shape, k)
        elif op == "pool":
            layer = pool("x", shape, "max", r, s, pad)
        elif op == "gap":
            layer = global_avgpool("x", shape)
        else:
            layer = elementwise("x", op, shape, 2 if op == "add" else 1)
        g = LayerGraph("fuzz", layer.in_shape)
        g.add(layer, [] if op != "add" else None)
        return g

    def build_and_estimate():
        g = build()
        if g.layers[0].op == "add":  # an add needs its inputs wired; estimate a conv feeding it instead
            g = LayerGraph("fuzz", g.layers[0].in_shape)
            a = g.add(conv2d("a", g.input_shape, g.input_shape[1], 1))
            b = g.add(conv2d("b", g.input_shape, g.input_shape[1], 1))
            g.add(elementwise("x", "add", a.out_shape, 2), [a.name, b.name])
        return estimate(g, arch)

    result = outcome(build_and_estimate)
    if isinstance(result, accelmodel.Estimate):
        assert result.macs == sum(l.macs for l in build().layers if l.op != "add") or op == "add"


arch_text = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "bogus", ""]),
             min_size=0, max_size=7).flatmap(
        lambda ops: st.sampled_from(["|" + "|".join(f"{o}~{i}" for i, o in enumerate(ops)) + "|",
                                     "+".join(f"|{o}~0|" for o in ops)])),
)


@FUZZ
@given(prefix=st.sampled_from(["nb201:", "fbnet:", "darts:", "", "resnet", "vgg16"]), text=arch_text,
       batch=st.one_of(st.none(), odd_int), dataset=st.one_of(st.none(), st.sampled_from(
           ["cifar10", "cifar100", "ImageNet16-120", "ImageNet", "imagenet", "mnist", ""])))
def test_fuzz_network_names(prefix, text, batch, dataset):
    outcome(lambda: get(prefix + text if prefix not in ("vgg16",) else prefix, batch=batch if batch is not None else 1,
                        dataset=dataset))


fbnet_token = st.one_of(st.integers(-2, 10), st.sampled_from(["k3_e1", "skip", "k5_e6", "bogus", "", " 3 ", None, 1.0,
                                                               True]), st.integers(0, 8).map(np.int64))
nb201_token = st.one_of(st.sampled_from(["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3",
                                         "conv", "", None, 0, 3.0]))


@FUZZ
@given(fb=st.lists(fbnet_token, min_size=20, max_size=23), nb=st.lists(nb201_token, min_size=5, max_size=7),
       as_text=st.booleans())
def test_fuzz_op_lists(fb, nb, as_text):
    outcome(lambda: fbnet(",".join(map(str, fb)) if as_text else fb, dataset="cifar100"))
    outcome(lambda: nasbench201(nb, dataset="cifar10"))


@FUZZ
@given(text=st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
                      st.sampled_from(["a: &x [1]\nb: *x\n", "a: *nope\n", "? [1, 2]\n: 3\n", "!!str 1", "---\n---\n",
                                       "1: 2\n", "a: {b: [c, {d: e}]}\n"])))
def test_fuzz_yaml_text(text):
    try:
        data = parse_yaml(text, "fuzz.yaml")
    except SpecError as exc:
        assert "fuzz.yaml" in str(exc)
        return
    outcome(lambda: load_spec(data) if isinstance(data, dict) else None)


def test_builders_guard_their_results_like_estimate():
    """The data-set builders refuse a non-finite or missing cost as estimate() does (finite inputs whose products
    overflow), naming the network."""
    from accelmodel.datasets import build

    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    with pytest.raises(EstimateError, match=r"build on eyeriss: network 0 got latency_ms=inf"):
        build("nasbench201", "eyeriss", "cifar10", archs=[arch], budget={"clock_mhz": 1e-310}, workers=0)
