"""Dataset builder: slot templates equal the real graphs, builds equal `estimate`, resumable, errors."""

import importlib
import os
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from accelmodel import datasets as D
from accelmodel.datasets import builds as B
from accelmodel.datasets import tasks as T
from accelmodel.estimate import estimate
from accelmodel.specs import load_spec
from accelmodel.workloads import fbnet, nasbench201, nasbench201_arch_strings

nb = importlib.import_module("accelmodel.workloads.nasbench201")
fb = importlib.import_module("accelmodel.workloads.fbnet")

sys.path.insert(0, os.path.dirname(__file__))
import test_datasets_fake_pipeline as fake  # noqa: E402

ARCH = "eyeriss-hwnasbench"


@pytest.fixture
def fake_mapper(monkeypatch):
    from accelmodel import mappers

    monkeypatch.setitem(mappers.PARADIGMS, fake.PARADIGM, "test_datasets_fake_pipeline")
    return fake.SPEC


# ---- the slot templates are the graphs -----------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=6, max_size=6), st.sampled_from(list(nb.DATASETS)))
def test_nasbench201_template_equals_graph(choice, dataset):
    space = D.nasbench201_space(np.array([choice]), dataset)
    graph = nasbench201([nb.OPS[i] for i in choice], dataset=dataset)
    rows = space.sequence(choice)
    assert [space.layers[r].signature for r in rows] == [l.signature for l in graph.layers]
    seq, lengths = space.sequences(0, 1)
    assert list(seq[0, :lengths[0]]) == rows


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 8), min_size=22, max_size=22), st.sampled_from(["cifar100", "imagenet"]))
def test_fbnet_template_equals_graph(choice, dataset):
    space = D.fbnet_space(np.array([choice]), dataset)
    graph = fbnet(choice, dataset=dataset)
    rows = space.sequence(choice)
    assert [space.layers[r].signature for r in rows] == [l.signature for l in graph.layers]
    seq, lengths = space.sequences(0, 1)
    assert list(seq[0, :lengths[0]]) == rows


def test_vectorised_sequences_match_per_network():
    rng = np.random.default_rng(3)
    choices = rng.integers(0, 9, size=(40, 22))
    space = D.fbnet_space(choices, "cifar100")
    seq, lengths = space.sequences(0, 40)
    for i in range(40):
        assert list(seq[i, :lengths[i]]) == space.sequence(choices[i])
        assert (seq[i, lengths[i]:] == -1).all()


# ---- builds equal estimate() ---------------------------------------------------------------------

def test_nasbench201_all_networks_and_estimate_agreement():
    frame = D.build("nasbench201", ARCH, "cifar10", workers=0)
    assert len(frame) == 15625
    assert list(frame["index"]) == list(range(15625))  # NAS-Bench-201's index order
    assert list(frame["arch_str"]) == D.nasbench201_index_order()
    assert sorted(frame["arch_str"]) == sorted(nasbench201_arch_strings())
    assert list(frame.columns[:5]) == ["index", "arch_str", "latency_ms", "energy_mj", "macs"]
    assert (frame["latency_ms"] > 0).all() and (frame["energy_mj"] > 0).all()
    for i in (0, 1, 1234, 7777, 15624):
        est = estimate("nb201:" + frame["arch_str"][i], ARCH, dataset="cifar10")
        assert frame["latency_ms"][i] == pytest.approx(est.latency_ms, rel=1e-12)
        assert frame["energy_mj"][i] == pytest.approx(est.energy_mj, rel=1e-12)
        assert frame["macs"][i] == est.macs
        dram_bytes = est.layers["dram_accesses"].sum() * 2  # 16-bit words
        assert frame["arithmetic_intensity"][i] == pytest.approx(est.macs / dram_bytes, rel=1e-12)


def test_archs_keep_input_order_and_other_datasets():
    archs = nasbench201_arch_strings()[::-1][:7]
    frame = D.build("nasbench201", "generic-small", "ImageNet16-120", archs=archs, workers=0)
    assert list(frame["arch_str"]) == archs
    est = estimate("nb201:" + archs[3], "generic-small", dataset="ImageNet16-120")
    assert frame["latency_ms"][3] == pytest.approx(est.latency_ms, rel=1e-12)


def test_fbnet_sample_is_seeded_and_matches_estimate():
    a = D.build("fbnet", ARCH, "cifar100", sample=300, seed=7, workers=0)
    b = D.build("fbnet", ARCH, "cifar100", sample=300, seed=7, workers=0)
    c = D.build("fbnet", ARCH, "cifar100", sample=300, seed=8, workers=0)
    pd.testing.assert_frame_equal(a, b)
    assert a["op_idx_list"].tolist() != c["op_idx_list"].tolist()
    for i in (0, 150, 299):
        ops = a["op_idx_list"][i]
        assert isinstance(ops, list) and len(ops) == 22
        est = estimate(fbnet(ops, "cifar100"), ARCH)
        assert a["latency_ms"][i] == pytest.approx(est.latency_ms, rel=1e-12)
        assert a["energy_mj"][i] == pytest.approx(est.energy_mj, rel=1e-12)


def test_fbnet_explicit_archs_imagenet():
    archs = [[0] * 22, [8] * 22, list(range(9)) * 2 + [1, 2, 3, 4]]
    frame = D.build("fbnet", ARCH, "ImageNet", archs=archs, workers=0)
    assert frame["op_idx_list"].tolist() == archs
    est = estimate(fbnet(archs[2], "imagenet"), ARCH)
    assert frame["latency_ms"][2] == pytest.approx(est.latency_ms, rel=1e-12)


def test_layer_graph_iterable():
    graphs = [nasbench201(s) for s in nasbench201_arch_strings()[100:104]] + [fbnet([3] * 22)]
    frame = D.build(graphs, ARCH, workers=0)
    assert list(frame["network"]) == [g.name for g in graphs]
    for g, lat, en in zip(graphs, frame["latency_ms"], frame["energy_mj"]):
        est = estimate(g, ARCH)
        assert lat == pytest.approx(est.latency_ms, rel=1e-12) and en == pytest.approx(est.energy_mj, rel=1e-12)
    # eyeriss-hwnasbench costs NAS-Bench-201 under its nasbench201 conventions (DCP's balanced rule and units)
    # and the rest under its defaults: one sub-build per workload space, rows in the given order
    assert list(frame["objective"]) == ["balanced"] * 4 + ["latency"]
    assert frame.attrs["objective"] == {"nasbench201": "balanced", "fbnet": "latency"}


# ---- non-additive mappers ------------------------------------------------------------------------

def test_non_additive_batch_path_equals_map_network(fake_mapper, monkeypatch):
    archs = [list(np.random.default_rng(i).integers(0, 9, 22)) for i in range(12)]
    batch = D.build("fbnet", fake_mapper, "cifar100", archs=archs, workers=0, network_chunk=5)
    for i, ops in enumerate(archs):
        net = fake.map_network(fbnet(ops, "cifar100"), fake.configure(load_spec(fake_mapper)), "latency")
        assert batch["latency_ms"][i] == pytest.approx(net.latency_s * 1e3, rel=1e-12)
        assert batch["throughput_gops"][i] == pytest.approx(net.extra["throughput_gops"], rel=1e-12)
    # Without the batch interface the builder falls back to map_network per graph.
    monkeypatch.delattr(fake, "evaluate_sequences")
    per_graph = D.build("fbnet", fake_mapper, "cifar100", archs=archs, workers=0, network_chunk=5)
    pd.testing.assert_frame_equal(batch, per_graph, check_exact=False, rtol=1e-12)


def test_non_additive_nasbench201(fake_mapper):
    archs = nasbench201_arch_strings()[5000:5020]
    frame = D.build("nasbench201", fake_mapper, "cifar100", archs=archs, workers=0)
    cfg = fake.configure(load_spec(fake_mapper))
    for i in (0, 19):
        net = fake.map_network(nasbench201(archs[i], "cifar100"), cfg, "latency")
        assert frame["latency_ms"][i] == pytest.approx(net.latency_s * 1e3, rel=1e-12)


# ---- resumable, atomic ---------------------------------------------------------------------------

def test_interrupted_build_resumes(tmp_path, monkeypatch, kill_build_after):
    archs = nasbench201_arch_strings()[:3000]
    out = tmp_path / "nb.parquet"
    reference = D.build("nasbench201", ARCH, "cifar10", archs=archs, workers=0, network_chunk=500)
    real = kill_build_after(2)
    with pytest.raises(KeyboardInterrupt):
        D.build("nasbench201", ARCH, "cifar10", archs=archs, out=str(out), workers=0, network_chunk=500)
    assert not out.exists()  # nothing half-written
    partial = tmp_path / "nb.parquet.partial"
    assert len(list(partial.glob("*/networks-*.chunk"))) == 2

    calls = []
    monkeypatch.setattr(B, "_additive_chunk", lambda *a: (calls.append(1), real(*a))[1])
    frame = D.build("nasbench201", ARCH, "cifar10", archs=archs, out=str(out), workers=0, network_chunk=500)
    assert len(calls) == 4  # 6 chunks, 2 kept from the interrupted run
    pd.testing.assert_frame_equal(frame, reference)
    pd.testing.assert_frame_equal(pd.read_parquet(out), reference)
    assert not partial.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_changed_inputs_do_not_reuse_chunks(tmp_path):
    out = str(tmp_path / "x.parquet")
    a = D.build("nasbench201", ARCH, "cifar10", archs=nasbench201_arch_strings()[:50], out=out, workers=0)
    b = D.build("nasbench201", ARCH, "cifar10", archs=nasbench201_arch_strings()[50:100], out=out, workers=0,
                overwrite=True)
    assert list(b["arch_str"]) == nasbench201_arch_strings()[50:100]
    assert not a["arch_str"].isin(b["arch_str"]).any()


def test_unwritable_output_fails_before_work(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("work started")

    monkeypatch.setattr(B, "_run_all", boom)
    with pytest.raises(PermissionError, match="does not exist"):
        D.build("nasbench201", ARCH, "cifar10", out=str(tmp_path / "missing" / "x.parquet"))
    with pytest.raises(ValueError, match=r"\.parquet"):
        D.build("nasbench201", ARCH, "cifar10", out=str(tmp_path / "x.csv"))
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if not os.access(locked, os.W_OK):  # root ignores permission bits: the next test covers that case
            with pytest.raises(PermissionError, match="not writable"):
                D.build("nasbench201", ARCH, "cifar10", out=str(locked / "x.parquet"))
    finally:
        locked.chmod(0o700)


def test_unwritable_output_as_root_via_file_in_place(tmp_path, monkeypatch):
    monkeypatch.setattr(B, "_run_all", lambda *a, **k: (_ for _ in ()).throw(AssertionError("work started")))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(PermissionError):
        D.build("nasbench201", ARCH, "cifar10", out=str(blocker / "x.parquet"))
    (tmp_path / "dir.parquet").mkdir()
    with pytest.raises(PermissionError, match="folder"):
        D.build("nasbench201", ARCH, "cifar10", out=str(tmp_path / "dir.parquet"))


# ---- errors --------------------------------------------------------------------------------------

def test_errors_name_allowed_values():
    with pytest.raises(ValueError, match=r"\['nasbench201', 'fbnet', 'darts'\]"):
        D.build("nb301", ARCH)
    with pytest.raises(ValueError, match="ImageNet16-120"):
        D.build("nasbench201", ARCH, "imagenet")
    with pytest.raises(ValueError, match="cifar100"):
        D.build("fbnet", ARCH, "cifar10", sample=3)
    with pytest.raises(ValueError, match="eyeriss-hwnasbench"):
        D.build("nasbench201", "no-such-arch", "cifar10", archs=nasbench201_arch_strings()[:2])
    with pytest.raises(ValueError, match="archs .* or sample"):
        D.build("fbnet", ARCH, "cifar100")
    with pytest.raises(ValueError, match=r"outside 0\.\.15624"):
        D.build("nasbench201", ARCH, "cifar10", archs=[15625])
    with pytest.raises(ValueError, match="sample"):
        D.build("fbnet", ARCH, "cifar100", sample=0)
    with pytest.raises(ValueError, match="scheduler"):
        D.build("nasbench201", ARCH, "cifar10", archs=nasbench201_arch_strings()[:2], scheduler="mpi")
    with pytest.raises(ValueError, match="position 3"):
        D.build("fbnet", ARCH, "cifar100", archs=[[0, 0, 0, 9] + [0] * 18])


# ---- index files ---------------------------------------------------------------------------------

def test_index_file_csv_orders_rows_and_accepts_indices(tmp_path):
    strings = nasbench201_arch_strings()
    path = tmp_path / "index.csv"
    order = [strings[i] for i in (9, 4, 700, 3)]
    path.write_text("index,arch_str\n" + "".join(f"{i},{s}\n" for i, s in enumerate(order)))
    frame = D.build("nasbench201", ARCH, "cifar10", index_file=str(path), workers=0)
    assert list(frame["index"]) == [0, 1, 2, 3]
    assert list(frame["arch_str"]) == order
    picked = D.build("nasbench201", ARCH, "cifar10", index_file=str(path), archs=[2, order[0]], workers=0)
    assert list(picked["index"]) == [2, 0]
    with pytest.raises(ValueError, match="not in index_file"):
        D.build("nasbench201", ARCH, "cifar10", index_file=str(path), archs=[17])


# ---- parallel ------------------------------------------------------------------------------------

def _fresh_caches():
    importlib.import_module("accelmodel.estimate")._LAYER_CACHE.clear()
    T.ROW_CACHE.clear()


def test_process_pool_matches_in_process():
    archs = nasbench201_arch_strings()[::997]
    local = D.build("nasbench201", ARCH, "cifar100", archs=archs, workers=0)
    _fresh_caches()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        pooled = D.build("nasbench201", ARCH, "cifar100", archs=archs, workers=2)
    pd.testing.assert_frame_equal(local, pooled)


def test_dask_local_cluster_matches_local(fake_mapper):
    distributed = pytest.importorskip("distributed")
    archs = nasbench201_arch_strings()[::501]
    local_nb = D.build("nasbench201", ARCH, "cifar10", archs=archs, workers=0)
    local_fb = D.build("fbnet", fake_mapper, "cifar100", sample=40, workers=0, network_chunk=10)
    _fresh_caches()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://",
                                  host="127.0.0.1", dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as stream:
            dask_nb = D.build("nasbench201", ARCH, "cifar10", archs=archs, scheduler="dask")
            dask_fb = D.build("fbnet", fake_mapper, "cifar100", sample=40, scheduler=cluster.scheduler_address,
                              network_chunk=10)
        assert len(client.scheduler_info()["workers"]) == 2
    names = [t["key"].split("-")[0] if isinstance(t["key"], str) else str(t["key"]) for t in stream.data]
    assert names.count("map_rows_task") >= 2 and names.count("sequences_task") == 4  # the work ran on dask
    pd.testing.assert_frame_equal(local_nb, dask_nb)
    pd.testing.assert_frame_equal(local_fb, dask_fb)


def test_energy_breakdown_columns_add_up():
    archs = nasbench201_arch_strings()[300:340]
    frame = D.build("nasbench201", ARCH, "cifar10", archs=archs, workers=0)
    levels = [c for c in frame.columns if c.startswith("energy_") and c != "energy_mj"]
    assert {"energy_dram_mj", "energy_mac_mj"} <= set(levels)
    assert frame[levels].sum(axis=1).to_numpy() == pytest.approx(frame["energy_mj"].to_numpy(), rel=1e-9)
    est = estimate("nb201:" + archs[7], ARCH)
    for col in levels + ["accesses_dram"]:
        assert frame[col][7] == pytest.approx(est.layers[col].fillna(0).sum(), rel=1e-9, abs=1e-15)


def test_fbnet_pickle_with_non_additive_mapper(fake_mapper, tmp_path):
    from accelmodel.hwnasbench import HWNASBenchAPI, fbnet_block_keys

    out = tmp_path / "pipe.pickle"
    frame = D.build("fbnet", fake_mapper, "cifar100", sample=15, out=str(out), workers=0)
    api = HWNASBenchAPI(str(out), "fbnet")
    tables = api.get_op_lookup_tables()
    assert set(tables) == {"fake_pipe_latency", "fake_pipe_energy"}
    # each entry is the block evaluated alone on the pipeline, as HW-NAS-Bench measured its FPGA tables
    cfg = fake.configure(load_spec(fake_mapper))
    g = fbnet(frame["op_idx_list"][0], "cifar100")
    key = fbnet_block_keys(frame["op_idx_list"][0], "cifar100")[5]
    layers = [l for l in g.layers if l.tag("block") == key and l.tag("position") == "4"]
    rows = fake.encode_layers(layers)
    alone = fake.evaluate_sequences(rows, np.arange(len(layers))[None, :], np.array([len(layers)]), cfg, "latency")
    assert tables["fake_pipe_latency"][key] == pytest.approx(alone["latency_ms"][0], rel=1e-12)
    # the pipeline is not additive: the whole network is not the sum of its blocks
    q = api.query_by_index(frame["op_idx_list"][0], "cifar100")
    assert q["fake_pipe_latency"] != pytest.approx(frame["latency_ms"][0], rel=1e-3)
    assert pickle_roundtrip_networks(out)["fake_pipe_latency_ms"][0] == frame["latency_ms"][0]


def pickle_roundtrip_networks(path):
    import pickle

    return pickle.loads(path.read_bytes())["fbnet"]["accelmodel_networks"]["cifar100"]


def test_graph_list_rejects_nas_only_options():
    with pytest.raises(ValueError, match="archs and index_file"):
        D.build([nasbench201(nasbench201_arch_strings()[0])], ARCH, archs=["x"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(nb.OPS), min_size=6, max_size=6))
def test_nasbench201_codes_round_trip(ops):
    arch = nb.arch_string(ops)
    choices, _ = D.nasbench201_choices([arch], None, 0, None, "cifar10")
    assert [nb.OPS[i] for i in choices[0]] == list(ops)
    assert D.nasbench201_strings(choices) == [arch]
    assert D.nasbench201_choices([list(ops)], None, 0, None, "cifar10")[0].tolist() == choices.tolist()


@pytest.mark.skipif("fpga-zc706" not in __import__("accelmodel.specs", fromlist=["x"]).available_specs(),
                    reason="the fpga-zc706 spec (FPGA mapper) is not installed in this checkout")
def test_fpga_zc706_build_equals_estimate(tmp_path):
    frame = D.build("fbnet", "fpga-zc706", "cifar100", sample=6, seed=4, workers=0, out=str(tmp_path / "f.pickle"))
    assert {"throughput_gops", "frames_per_s"} <= set(frame.columns)
    for i in (0, 5):
        est = estimate(fbnet(frame["op_idx_list"][i], "cifar100"), "fpga-zc706")
        assert frame["latency_ms"][i] == pytest.approx(est.latency_ms, rel=1e-12)
        assert frame["energy_mj"][i] == pytest.approx(est.energy_mj, rel=1e-12)
        assert frame["throughput_gops"][i] == pytest.approx(est.throughput_gops, rel=1e-12)
    archs = nasbench201_arch_strings()[:3]
    nb_frame = D.build("nasbench201", "fpga-zc706", "cifar10", archs=archs, workers=0)
    assert nb_frame["latency_ms"][2] == pytest.approx(estimate("nb201:" + archs[2], "fpga-zc706").latency_ms, rel=1e-12)
    from accelmodel.hwnasbench import HWNASBenchAPI

    tables = HWNASBenchAPI(str(tmp_path / "f.pickle"), "fbnet").get_op_lookup_tables()
    assert set(tables) == {"fpga_latency", "fpga_energy"}
    # every inverted-residual block costs time; skips, stem, header, pooling and classifier are 0 in
    # HW-NAS-Bench's FBNet FPGA table (fpga-zc706's fbnet convention, layerwise.block_pipeline.other_layers)
    assert all(v > 0 for k, v in tables["fpga_latency"].items() if k.startswith("ConvBlock_"))
    assert all(v == 0 for k, v in tables["fpga_latency"].items() if not k.startswith("ConvBlock_"))
    # the block rule is additive over blocks, so the table sums to each built network's latency
    positions = {(layer.tag("position"), layer.tag("block")) for layer in fbnet(frame["op_idx_list"][0], "cifar100").layers}
    assert sum(tables["fpga_latency"][k] for _, k in positions) == pytest.approx(frame["latency_ms"][0], rel=1e-9)


def test_graph_list_to_pickle_fails_before_work(tmp_path, monkeypatch):
    monkeypatch.setattr(B, "_run_all", lambda *a, **k: pytest.fail("work started"))
    with pytest.raises(ValueError, match="parquet"):
        D.build([nasbench201(nasbench201_arch_strings()[0])], ARCH, out=str(tmp_path / "g.pickle"))


def test_empty_archs_rejected():
    with pytest.raises(ValueError, match="archs is empty"):
        D.build("nasbench201", ARCH, "cifar10", archs=[])
    with pytest.raises(ValueError, match="archs is empty"):
        D.build("fbnet", ARCH, "cifar100", archs=[])
