"""HW-NAS-Bench drop-in: layout, index reader, API answers like the original, FBNet lookup keys."""

import importlib
import math
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from accelmodel import datasets as D
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
    assert isinstance(per["eyeriss_latency"], np.ndarray) and isinstance(per["config"], list)
    assert per["config"][5] == data["nasbench201"]["cifar10"]["config"][5]
    api = HWNASBenchAPI(str(out), "nasbench201")
    for i in range(8):
        q = api.query_by_index(i, "cifar10")
        assert q["eyeriss_latency"] == frame["latency_ms"][i]
        assert q["eyeriss_energy"] == frame["energy_mj"][i]
        assert q["average_hw_metric"] == pytest.approx(q["eyeriss_latency"] * q["eyeriss_energy"])


def test_without_index_keyed_by_arch_string(tmp_path):
    archs = nasbench201_arch_strings()[200:210]
    out = tmp_path / "s.pkl"
    frame = D.build("nasbench201", "generic-small", "cifar100", archs=archs, out=str(out), workers=0)
    api = HWNASBenchAPI(str(out), "nasbench201")
    q = api.query_by_index(archs[4], "cifar100")
    assert q["generic_small_latency"] == frame["latency_ms"][4]
    assert api.get_net_config(archs[4], "cifar100")["num_classes"] == 100
    with pytest.raises(ValueError, match="arch string"):
        api.query_by_index(4, "cifar100")


def test_several_archs_and_datasets_in_one_file(tmp_path):
    archs = nasbench201_arch_strings()[:5]
    out = tmp_path / "two.pickle"
    frames = D.build_many("nasbench201", [ARCH, "generic-small"], ["cifar10", "ImageNet16-120"], archs=archs,
                          out=str(out), workers=0)
    assert len(frames) == 4
    api = HWNASBenchAPI(str(out))
    q = api.query_by_index(archs[2], "ImageNet16-120")
    assert set(q) == {"eyeriss_latency", "eyeriss_energy", "generic_small_latency", "generic_small_energy",
                      "average_hw_metric"}


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
