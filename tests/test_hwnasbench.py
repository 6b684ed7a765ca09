"""HW-NAS-Bench drop-in: layout, index reader, API answers like the original, FBNet lookup keys."""

import importlib
import math
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from accelmodel import datasets as D
from accelmodel.estimate import estimate
from accelmodel.hwnasbench import (HWNASBenchAPI, NB201_METRICS, FBNET_METRICS, fbnet_block_keys, fbnet_metric,
                                   read_index, to_hwnasbench)
from accelmodel.workloads import fbnet, nasbench201_arch_strings

fb = importlib.import_module("accelmodel.workloads.fbnet")
ARCH = "eyeriss-hwnasbench"


def original_layout(n=6):
    """A small file in HW-NAS-Bench-v1_0's layout with made-up numbers (the real file is not shipped)."""
    strings = nasbench201_arch_strings()
    rng = np.random.default_rng(0)
    data = {"nasbench201": {}, "fbnet": {}}
    for ds, classes in (("cifar10", 10), ("cifar100", 100), ("ImageNet16-120", 120)):
        per = {m: rng.uniform(0.5, 5.0, n) for m in NB201_METRICS}
        per["config"] = [{"name": "infer.tiny", "C": 16, "N": 5, "arch_str": strings[i * 101], "num_classes": classes}
                         for i in range(n)]
        data["nasbench201"][ds] = per
    keys = set()
    for ds in ("cifar100", "ImageNet"):
        for b in range(9):
            keys.update(fbnet_block_keys([b] * 22, ds))
    for m in FBNET_METRICS:
        data["fbnet"][m] = {k: float(rng.uniform(0.01, 1.0)) for k in sorted(keys)}
    return data


def original_query_nb201(data, idx, ds):
    """The original API's computation, restated for the test."""
    res = {m: float(data["nasbench201"][ds][m][idx]) for m in NB201_METRICS}
    prod = 1.0
    for m in NB201_METRICS:
        if m != "eyeriss_arithmetic_intensity":
            prod *= res[m]
    res["average_hw_metric"] = prod
    return res


def test_api_on_original_layout(tmp_path):
    data = original_layout()
    path = tmp_path / "HW-NAS-Bench-v1_0.pickle"
    path.write_bytes(pickle.dumps(data))
    api = HWNASBenchAPI(str(path), search_space="nasbench201")
    for ds in ("cifar10", "ImageNet16-120"):
        got = api.query_by_index(3, ds)
        want = original_query_nb201(data, 3, ds)
        assert list(got) == list(want)
        assert got == pytest.approx(want, rel=1e-12)
    assert api.get_net_config(2, "cifar100") == data["nasbench201"]["cifar100"]["config"][2]
    # arch strings work too, and map to the same entry
    assert api.query_by_index(data["nasbench201"]["cifar10"]["config"][4]["arch_str"], "cifar10") == \
        api.query_by_index(4, "cifar10")
    fapi = HWNASBenchAPI(str(path), search_space="fbnet")
    ops = [0, 3, 8, 2, 1, 5, 6, 7, 4, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2]
    got = fapi.query_by_index(ops, "ImageNet")
    assert list(got)[:-1] == list(FBNET_METRICS)
    assert got["average_hw_metric"] == pytest.approx(math.prod(got[m] for m in FBNET_METRICS))
    assert fapi.get_op_lookup_tables().keys() == set(FBNET_METRICS)
    cfg = fapi.get_net_config(ops, "cifar100")
    assert cfg == {"dataset": "cifar100", "num_classes": 100, "op_idx_list": ops,
                   "arch_str": [fb.BLOCKS[i] for i in ops]}


def test_read_index_from_pickle_and_csv(tmp_path):
    data = original_layout()
    path = tmp_path / "hw.pickle"
    path.write_bytes(pickle.dumps(data))
    idx = read_index(str(path), "cifar100")
    assert idx == {i: c["arch_str"] for i, c in enumerate(data["nasbench201"]["cifar100"]["config"])}
    assert read_index(str(path)) == idx  # any data set: same order
    from accelmodel.workloads import read_index_file

    assert read_index_file(str(path)) == idx  # the workloads reader agrees on the real layout
    csv = tmp_path / "i.csv"
    csv.write_text("index,arch_str\n5," + idx[1] + "\n")
    assert read_index(str(csv)) == {5: idx[1]}
    csv.write_text("idx,arch\n")
    with pytest.raises(ValueError, match="missing column"):
        read_index(str(csv))
    bad = tmp_path / "bad.pickle"
    bad.write_bytes(pickle.dumps({"fbnet": {}}))
    with pytest.raises(ValueError, match="nasbench201"):
        read_index(str(bad))


def test_build_from_hwnasbench_index_and_drop_in_round_trip(tmp_path):
    data = original_layout(n=8)
    src = tmp_path / "hw.pickle"
    src.write_bytes(pickle.dumps(data))
    out = tmp_path / "mine.pickle"
    frame = D.build("nasbench201", ARCH, "cifar10", index_file=str(src), out=str(out), workers=0)
    assert list(frame["index"]) == list(range(8))
    written = pickle.loads(out.read_bytes())
    per = written["nasbench201"]["cifar10"]
    assert isinstance(per["eyeriss_latency"], list) and isinstance(per["config"], list)
    assert per["config"][5] == data["nasbench201"]["cifar10"]["config"][5]
    api = HWNASBenchAPI(str(out), "nasbench201")
    for i in range(8):
        q = api.query_by_index(i, "cifar10")
        assert q["eyeriss_latency"] == frame["latency_ms"][i]
        assert q["eyeriss_energy"] == frame["energy_mj"][i]
        assert q["average_hw_metric"] == pytest.approx(q["eyeriss_latency"] * q["eyeriss_energy"])


def test_without_index_file_keyed_by_generated_index(tmp_path):
    archs = nasbench201_arch_strings()[200:210]
    out = tmp_path / "s.pkl"
    frame = D.build("nasbench201", "generic-small", "cifar100", archs=archs, out=str(out), workers=0)
    order = D.nasbench201_index_order()
    assert [order[i] for i in frame["index"]] == archs
    api = HWNASBenchAPI(str(out), "nasbench201")
    idx = int(frame["index"][4])
    q = api.query_by_index(idx, "cifar100")
    assert q["generic_small_latency"] == frame["latency_ms"][4]
    assert api.query_by_index(archs[4], "cifar100") == q  # an arch string finds the same entry
    assert api.get_net_config(idx, "cifar100") == {"name": "infer.tiny", "C": 16, "N": 5, "arch_str": archs[4],
                                                   "num_classes": 100}
    missing = next(i for i in range(15625) if i not in set(frame["index"]))
    with pytest.raises(ValueError, match=f"arch_index {missing} is not in nasbench201/cifar100"):
        api.query_by_index(missing, "cifar100")


def test_several_archs_and_datasets_in_one_file(tmp_path):
    archs = nasbench201_arch_strings()[:5]
    out = tmp_path / "two.pickle"
    frames = D.build_many("nasbench201", [ARCH, "generic-small"], ["cifar10", "ImageNet16-120"], archs=archs,
                          out=str(out), workers=0)
    assert len(frames) == 4
    api = HWNASBenchAPI(str(out))
    q = api.query_by_index(archs[2], "ImageNet16-120")
    assert set(q) == {"eyeriss_latency", "eyeriss_energy", "eyeriss_arithmetic_intensity", "generic_small_latency",
                      "generic_small_energy", "generic_small_arithmetic_intensity", "average_hw_metric"}
    assert q["average_hw_metric"] == pytest.approx(q["eyeriss_latency"] * q["eyeriss_energy"]
                                                   * q["generic_small_latency"] * q["generic_small_energy"])


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(0, 8), min_size=22, max_size=22), st.sampled_from(["cifar100", "ImageNet"]))
def test_fbnet_keys_follow_the_graph_tags(ops, dataset):
    g = fbnet(ops, dataset)
    tags = []
    for layer in g.layers:
        key = (layer.tag("position"), layer.tag("block"))
        if not tags or tags[-1] != key:
            tags.append(key)
    assert fbnet_block_keys(ops, dataset) == [k for _, k in tags]


def test_fbnet_key_spelling():
    keys = fbnet_block_keys([3] + [8] * 21, "cifar100")
    assert keys[0] == "ConvNorm_H32_W32_Cin3_Cout16_kernel3_stride1_group1"
    assert keys[1] == "ConvBlock_H32_W32_Cin16_Cout16_exp6_kernel3_stride1_group1"
    assert keys[2] == "Skip_H32_W32_Cin16_Cout24_stride1"
    assert keys[-3] == "ConvNorm_H4_W4_Cin352_Cout1504_kernel1_stride1_group1"
    assert keys[-2] == "AvgP_H4_W4_Cin1504_Cout1504_kernel4_stride1"
    assert keys[-1] == "FC_Cin1504_Cout100"
    assert fbnet_block_keys([1] * 22, "ImageNet")[0] == "ConvNorm_H224_W224_Cin3_Cout16_kernel3_stride2_group1"


def test_fbnet_lookup_tables_reproduce_the_build(tmp_path):
    out = tmp_path / "fb.pickle"
    frames = D.build_many("fbnet", [ARCH], ["cifar100", "ImageNet"], sample=60, seed=2, out=str(out), workers=0)
    api = HWNASBenchAPI(str(out), "fbnet")
    tables = api.get_op_lookup_tables()
    assert set(tables) == {"eyeriss_latency", "eyeriss_energy"}
    for frame, ds in zip(frames, ("cifar100", "ImageNet")):
        for i in (0, 31, 59):
            ops = frame["op_idx_list"][i]
            q = api.query_by_index(ops, ds)
            assert q["eyeriss_latency"] == pytest.approx(frame["latency_ms"][i], rel=1e-12)
            assert q["eyeriss_energy"] == pytest.approx(frame["energy_mj"][i], rel=1e-12)
    # every key of either data set's networks is present
    for b in range(9):
        for ds in ("cifar100", "ImageNet"):
            fbnet_metric([b] * 22, ds, tables["eyeriss_latency"])


def test_api_errors(tmp_path):
    path = tmp_path / "hw.pickle"
    path.write_bytes(pickle.dumps(original_layout()))
    with pytest.raises(ValueError, match="nasbench201"):
        HWNASBenchAPI(str(path), "darts")
    api = HWNASBenchAPI(str(path))
    with pytest.raises(ValueError, match="ImageNet16-120"):
        api.query_by_index(0, "imagenet")
    fapi = HWNASBenchAPI(str(path), "fbnet")
    with pytest.raises(ValueError, match="22"):
        fapi.query_by_index([0] * 21, "cifar100")
    with pytest.raises(ValueError, match="cifar100"):
        fapi.query_by_index([0] * 22, "cifar10")
    with pytest.raises(ValueError, match="fbnet"):
        api.get_op_lookup_tables()
    with pytest.raises(FileNotFoundError):
        HWNASBenchAPI(str(tmp_path / "nope.pickle"))


def test_to_hwnasbench_rejects_graph_builds():
    with pytest.raises(ValueError, match="nasbench201"):
        to_hwnasbench([("graphs", None, ARCH, None, None)])


def test_published_calibration_file_as_index(reference, tmp_path):
    """HW-NAS-Bench's own NAS-Bench-201 indices (the reference CSV has index,arch_str columns) drive a
    drop-in file whose API answers by those indices. Only the index and arch strings are used here."""
    csv = reference / "hwnasbench_nb201_cifar10_calibration.csv"
    published = pd.read_csv(csv)
    out = tmp_path / "cal.pickle"
    frame = D.build("nasbench201", ARCH, "cifar10", index_file=str(csv), out=str(out), workers=0)
    assert len(frame) == len(published)
    assert list(frame["index"]) == sorted(published["index"])
    api = HWNASBenchAPI(str(out))
    row = published.iloc[17]
    q = api.query_by_index(int(row["index"]), "cifar10")
    mine = frame.set_index("index").loc[int(row["index"])]
    assert mine["arch_str"] == row["arch_str"]
    assert q["eyeriss_latency"] == mine["latency_ms"]
    assert api.get_net_config(int(row["index"]), "cifar10")["arch_str"] == row["arch_str"]


# ---- NAS-Bench-201's index order, generated ---------------------------------------------------------------

def test_index_order_known_answers():
    """NAS-Bench-201's generate_meta_info asserts these three entries after its shuffle (AutoDL-Projects,
    exps/NAS-Bench-201/main.py); the order is a permutation of all 15,625 cells."""
    order = D.nasbench201_index_order()
    assert order[0] == "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    assert order[9] == "|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
    assert order[123] == "|avg_pool_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    assert sorted(order) == sorted(nasbench201_arch_strings())


def test_index_order_leaves_the_callers_random_state_alone():
    import random

    from accelmodel.datasets.spaces import nasbench201 as space

    space._index_codes.cache_clear()
    random.seed(5)
    state = random.getstate()
    D.nasbench201_index_order()
    assert random.getstate() == state


def test_index_order_matches_published_indices(reference):
    """Every row of HW-NAS-Bench's calibration file (1,000 networks with their NAS-Bench-201 index)."""
    published = pd.read_csv(reference / "hwnasbench_nb201_cifar10_calibration.csv")
    assert len(published) == 1000
    order = D.nasbench201_index_order()
    mismatches = [(i, a) for i, a in zip(published["index"], published["arch_str"]) if order[i] != a]
    assert mismatches == []
    frame = D.build("nasbench201", ARCH, "cifar10", archs=list(published["arch_str"][:20]), workers=0)
    assert list(frame["index"]) == list(published["index"][:20])


# ---- the drop-in file through HW-NAS-Bench's own API ------------------------------------------------------

#: A few networks: index 0 and the last, plus some spread over the order (the full file is a benchmark).
DROP_IN_INDICES = [0, 1, 2, 777, 9999, 15624]


def _client_dir() -> Path:
    return Path(os.environ.get("ACCELMODEL_HWNASBENCH_CLIENT",
                               Path(__file__).resolve().parents[2] / "shared" / "clients" / "hw_nas_bench_api"))


@pytest.fixture(scope="session")
def original_api():
    """HW-NAS-Bench's own API module (../shared/clients/hw_nas_bench_api, unmodified, imported from there)."""
    path = _client_dir()
    if not (path / "hw_nas_bench_api.py").is_file():
        msg = f"HW-NAS-Bench's API not found at {path} (set ACCELMODEL_HWNASBENCH_CLIENT)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    sys.path.insert(0, str(path.parent))
    try:
        return importlib.import_module("hw_nas_bench_api.hw_nas_bench_api")
    finally:
        sys.path.remove(str(path.parent))


@pytest.fixture(scope="session")
def drop_in(tmp_path_factory):
    out = tmp_path_factory.mktemp("drop_in") / "HW-NAS-Bench-v1_0.pickle"
    D.build_hwnasbench(out=str(out), archs=DROP_IN_INDICES, workers=0)
    return out


def _walk(value):
    yield value
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


class _NoClassesUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"{module}.{name}")


def test_drop_in_holds_only_builtin_types(drop_in):
    data = _NoClassesUnpickler(open(drop_in, "rb")).load()  # no class at all: opens without numpy
    assert {type(v) for v in _walk(data)} <= {dict, list, str, int, float}
    assert set(data) == {"nasbench201", "fbnet", "accelmodel"}
    assert set(data["nasbench201"]) == {"cifar10", "cifar100", "ImageNet16-120"}
    for per in data["nasbench201"].values():
        assert set(per) == set(NB201_METRICS) | {"config"}
        assert sorted(per["config"]) == DROP_IN_INDICES
    assert set(data["fbnet"]) == set(FBNET_METRICS)
    assert data["accelmodel"]["writers"] == {"eyeriss": "eyeriss-hwnasbench", "fpga": "fpga-zc706"}


def test_original_api_on_drop_in_nasbench201(drop_in, original_api):
    api = original_api.HWNASBenchAPI(str(drop_in), search_space="nasbench201")
    order = D.nasbench201_index_order()
    for dataset in ("cifar10", "cifar100", "ImageNet16-120"):
        for i in DROP_IN_INDICES:
            q = api.query_by_index(i, dataset)
            assert list(q) == list(NB201_METRICS) + ["average_hw_metric"]
            assert all(math.isnan(q[m]) for m in ("edgegpu_latency", "edgegpu_energy", "raspi4_latency",
                                                   "edgetpu_latency", "pixel3_latency", "average_hw_metric"))
            assert api.get_net_config(i, dataset) == {"name": "infer.tiny", "C": 16, "N": 5, "arch_str": order[i],
                                                      "num_classes": {"cifar10": 10, "cifar100": 100}.get(dataset, 120)}
        for i in (0, 15624):
            eye = estimate("nb201:" + order[i], ARCH, dataset=dataset)
            fpga = estimate("nb201:" + order[i], "fpga-zc706", dataset=dataset)
            q = api.query_by_index(i, dataset)
            assert q["eyeriss_latency"] == pytest.approx(eye.latency_ms, rel=1e-12)
            assert q["eyeriss_energy"] == pytest.approx(eye.energy_mj, rel=1e-12)
            assert q["eyeriss_arithmetic_intensity"] == pytest.approx(
                eye.macs / (eye.layers["dram_accesses"].sum() * 2), rel=1e-12)  # MACs per DRAM byte, 16-bit words
            assert q["fpga_latency"] == pytest.approx(fpga.latency_ms, rel=1e-12)
            assert q["fpga_energy"] == pytest.approx(fpga.energy_mj, rel=1e-12)


def test_original_api_on_drop_in_fbnet(drop_in, original_api):
    api = original_api.HWNASBenchAPI(str(drop_in), search_space="fbnet")
    tables = api.get_op_lookup_tables()
    assert set(tables) == set(FBNET_METRICS)
    rng = np.random.default_rng(5)
    nets = [[0] * 22, [8] * 22] + [[int(x) for x in rng.integers(0, 9, 22)] for _ in range(3)]
    for dataset, ours in (("cifar100", "cifar100"), ("ImageNet", "imagenet")):
        for ops in nets:
            q = api.query_by_index(ops, dataset)
            assert list(q) == list(FBNET_METRICS) + ["average_hw_metric"]
            assert math.isnan(q["edgegpu_latency"]) and math.isnan(q["pixel3_latency"])
            eye = estimate(fbnet(ops, ours), ARCH)
            assert q["eyeriss_latency"] == pytest.approx(eye.latency_ms, rel=1e-12)
            assert q["eyeriss_energy"] == pytest.approx(eye.energy_mj, rel=1e-12)
            # the FPGA table holds each block evaluated alone (HW-NAS-Bench's method); its per-layer
            # (layerwise) latency makes a network the sum of its blocks
            fpga = estimate(fbnet(ops, ours), "fpga-zc706")
            assert q["fpga_latency"] == pytest.approx(fpga.latency_ms, rel=1e-9)
            assert q["fpga_energy"] == pytest.approx(fpga.energy_mj, rel=1e-9)
        assert api.get_net_config(nets[2], dataset)["op_idx_list"] == nets[2]
    # every key both data sets' networks use
    for b in range(9):
        for dataset in ("cifar100", "ImageNet"):
            assert all(k in tables["fpga_latency"] for k in fbnet_block_keys([b] * 22, dataset))


def _original_like(n: int, rng) -> dict:
    """An 'original' file for the first n NAS-Bench-201 indices (generated order), with numpy arrays inside and
    made-up numbers for every metric (the real file is not shipped)."""
    order = D.nasbench201_index_order()
    data = {"nasbench201": {}, "fbnet": {}}
    for ds, classes in (("cifar10", 10), ("cifar100", 100), ("ImageNet16-120", 120)):
        per = {m: rng.uniform(0.5, 5.0, n) for m in NB201_METRICS}
        per["config"] = [{"name": "infer.tiny", "C": 16, "N": 5, "arch_str": order[i], "num_classes": classes}
                         for i in range(n)]
        data["nasbench201"][ds] = per
    keys = sorted({k for ds in ("cifar100", "ImageNet") for b in range(9) for k in fbnet_block_keys([b] * 22, ds)})
    for m in FBNET_METRICS:
        data["fbnet"][m] = {k: np.float64(rng.uniform(0.01, 1.0)) for k in keys}
    return data


def test_drop_in_merge_keeps_measured_values(tmp_path):
    original = _original_like(4, np.random.default_rng(1))
    src = tmp_path / "HW-NAS-Bench-v1_0.pickle"
    src.write_bytes(pickle.dumps(original))
    out = tmp_path / "merged.pickle"
    D.build_hwnasbench(out=str(out), merge=str(src), archs=[0, 1, 2, 3], workers=0)
    written = _NoClassesUnpickler(open(out, "rb")).load()  # the numpy arrays became lists
    per, orig = written["nasbench201"]["cifar100"], original["nasbench201"]["cifar100"]
    for m in ("edgegpu_latency", "edgegpu_energy", "raspi4_latency", "edgetpu_latency", "pixel3_latency"):
        assert per[m] == orig[m].tolist()  # kept
    assert per["eyeriss_latency"] != orig["eyeriss_latency"].tolist()  # replaced by the model
    assert per["eyeriss_latency"][2] == pytest.approx(
        estimate("nb201:" + orig["config"][2]["arch_str"], ARCH, dataset="cifar100").latency_ms, rel=1e-12)
    key = "FC_Cin1504_Cout100"
    assert written["fbnet"]["raspi4_latency"][key] == float(original["fbnet"]["raspi4_latency"][key])
    assert written["fbnet"]["eyeriss_latency"][key] != float(original["fbnet"]["eyeriss_latency"][key])


def test_drop_in_merge_refuses_another_order_before_work(tmp_path, monkeypatch):
    original = _original_like(4, np.random.default_rng(2))
    cfg = original["nasbench201"]["cifar10"]["config"]
    cfg[1], cfg[2] = cfg[2], cfg[1]
    src = tmp_path / "orig.pickle"
    src.write_bytes(pickle.dumps(original))
    monkeypatch.setattr(importlib.import_module("accelmodel.datasets.drop_in"), "run_job",
                        lambda *a, **k: pytest.fail("work started"))
    with pytest.raises(D.OutputExistsError, match="index 1 is"):
        D.build_hwnasbench(out=str(tmp_path / "m.pickle"), merge=str(src), archs=[0, 1, 2, 3], workers=0)
    with pytest.raises(D.OutputExistsError, match="exists"):  # an existing out other than the merge file
        (tmp_path / "taken.pickle").write_bytes(pickle.dumps({}))
        D.build_hwnasbench(out=str(tmp_path / "taken.pickle"), merge=str(src), archs=[0], workers=0)


# ---- adding to a file, never silently replacing ---------------------------------------------------------

def test_two_specs_writing_the_same_keys_fail_before_work(tmp_path, monkeypatch):
    monkeypatch.setattr(importlib.import_module("accelmodel.datasets.builds"), "_run_all",
                        lambda *a, **k: pytest.fail("work started"))
    with pytest.raises(ValueError, match=r"'eyeriss-hwnasbench' and 'eyeriss' would both write the keys eyeriss_\*"):
        D.build_many("nasbench201", [ARCH, "eyeriss"], ["cifar10"], out=str(tmp_path / "x.pickle"), workers=0)
    with pytest.raises(ValueError, match="listed twice"):
        D.build_many("nasbench201", [ARCH, ARCH], ["cifar10"], out=str(tmp_path / "x.pickle"), workers=0)


def test_builds_add_to_a_pickle_or_refuse(tmp_path):
    out = str(tmp_path / "f.pickle")
    archs = nasbench201_arch_strings()[40:44]
    D.build("nasbench201", ARCH, "cifar10", archs=archs, out=out, workers=0)
    D.build("nasbench201", "generic-small", "cifar10", archs=archs, out=out, workers=0)  # adds its keys
    D.build("nasbench201", ARCH, "cifar100", archs=archs, out=out, workers=0)  # adds a data set
    data = pickle.loads(open(out, "rb").read())
    assert {"eyeriss_latency", "generic_small_latency"} <= set(data["nasbench201"]["cifar10"])
    assert set(data["nasbench201"]) == {"cifar10", "cifar100"}
    D.build("nasbench201", ARCH, "cifar10", archs=archs, out=out, workers=0)  # the same build again: fine
    before = open(out, "rb").read()
    with pytest.raises(D.OutputExistsError, match="other networks"):
        D.build("nasbench201", ARCH, "cifar10", archs=archs[:2], out=out, workers=0)
    with pytest.raises(D.OutputExistsError, match="written by arch 'eyeriss-hwnasbench'"):
        D.build("nasbench201", "eyeriss", "cifar10", archs=archs, out=out, workers=0)
    assert open(out, "rb").read() == before
    D.build("nasbench201", "eyeriss", "cifar10", archs=archs, out=out, workers=0, overwrite=True)
    assert pickle.loads(open(out, "rb").read())["accelmodel"]["writers"] == {"eyeriss": "eyeriss"}


def test_build_into_an_original_file_refused(tmp_path):
    path = tmp_path / "HW-NAS-Bench-v1_0.pickle"
    path.write_bytes(pickle.dumps(_original_like(3, np.random.default_rng(3))))
    with pytest.raises(D.OutputExistsError, match="accelmodel did not write.*merge"):
        D.build("nasbench201", ARCH, "cifar10", archs=[0, 1, 2], out=str(path), workers=0)
    # a spec whose keys the original does not have adds them
    D.build("nasbench201", "generic-small", "cifar10", archs=[0, 1, 2], out=str(path), workers=0)
    assert "generic_small_latency" in pickle.loads(path.read_bytes())["nasbench201"]["cifar10"]


# ---- untrusted files --------------------------------------------------------------------------------------

class _Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_crafted_pickles_are_refused_naming_the_file(tmp_path):
    from accelmodel.safe_pickle import PickleFileError
    from accelmodel.workloads import read_index_file

    marker = tmp_path / "ran"
    evil = tmp_path / "evil.pickle"
    evil.write_bytes(pickle.dumps({"nasbench201": {"cifar10": {"config": [_Payload(marker)]}}}))
    for call in (lambda: HWNASBenchAPI(str(evil)), lambda: read_index(str(evil)), lambda: read_index_file(str(evil)),
                 lambda: D.build("nasbench201", ARCH, "cifar10", index_file=str(evil), workers=0)):
        with pytest.raises(PickleFileError, match=r"evil\.pickle.*refused: it names (_?io|builtins)\.open"):
            call()
    assert not marker.exists()


def test_corrupt_pickles_name_the_file(tmp_path):
    from accelmodel.safe_pickle import PickleFileError

    good = pickle.dumps(original_layout())
    for name, blob in (("cut.pickle", good[:len(good) // 2]), ("noise.pickle", b"\x80\x04not a pickle at all")):
        path = tmp_path / name
        path.write_bytes(blob)
        with pytest.raises(PickleFileError, match=f"{name}.* is not a readable pickle"):
            HWNASBenchAPI(str(path))
        with pytest.raises(PickleFileError, match=f"index file .*{name}"):
            D.build("nasbench201", ARCH, "cifar10", index_file=str(path), workers=0)
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(ValueError, match="bin.csv.* is neither"):
        read_index(str(tmp_path / "bin.csv"))


def test_api_rejects_bad_indices(tmp_path):
    path = tmp_path / "hw.pickle"
    path.write_bytes(pickle.dumps(original_layout(n=6)))
    api = HWNASBenchAPI(str(path))
    for bad, fragment in ((-1, "outside 0..5"), (6, "outside 0..5"), (99999, "outside 0..5"),
                          (1.7, "is not a NAS-Bench-201 index"), (True, "is not a NAS-Bench-201 index"),
                          (None, "is not a NAS-Bench-201 index")):
        with pytest.raises(ValueError, match=f"arch_index {bad!r}.*{fragment}"):
            api.query_by_index(bad, "cifar10")
        with pytest.raises(ValueError, match=fragment):
            api.get_net_config(bad, "cifar10")
    assert api.query_by_index(np.int64(5), "cifar10") == api.query_by_index(5, "cifar10")
    fapi = HWNASBenchAPI(str(path), "fbnet")
    for op in (-1, 9, 1.5, "k3_e1"):
        with pytest.raises(ValueError, match=f"position 3: op {op!r} is not an index 0..8"):
            fapi.query_by_index([0, 0, 0, op] + [0] * 18, "cifar100")
