"""Build arguments and files: bad values fail before any work with one clear error; checkpoints survive damage;
one build at a time per output; an existing output is added to or refused, never silently replaced (issues 14
and 18). Each test names the error class and a fragment of its message."""

import importlib
import pickle
import subprocess
import sys

import pandas as pd
import pytest

from accelmodel import datasets as D
from accelmodel.workloads import nasbench201_arch_strings

ARCH = "eyeriss-hwnasbench"
B = importlib.import_module("accelmodel.datasets.builds")
ARCHS = nasbench201_arch_strings()[:1200]


@pytest.fixture
def no_work(monkeypatch):
    monkeypatch.setattr(B, "_run_all", lambda *a, **k: pytest.fail("work started"))


@pytest.mark.parametrize("seed", [-1, 1.5, True, "3", None])
def test_bad_seed(seed, no_work):
    with pytest.raises(ValueError, match=r"seed must be an integer >= 0, got"):
        D.build("fbnet", ARCH, "cifar100", sample=3, seed=seed)


@pytest.mark.parametrize("sample", [0, -2, 2.5, True])
def test_bad_sample(sample, no_work):
    with pytest.raises(ValueError, match="sample must be a positive int"):
        D.build("nasbench201", ARCH, "cifar10", sample=sample)


def test_numpy_seed_accepted():
    import numpy as np

    a = D.build("fbnet", ARCH, "cifar100", sample=4, seed=np.int64(3), workers=0)
    b = D.build("fbnet", ARCH, "cifar100", sample=4, seed=3, workers=0)
    pd.testing.assert_frame_equal(a, b)


def test_partial_path_is_a_file(tmp_path, no_work):
    out = tmp_path / "x.pickle"
    (tmp_path / "x.pickle.partial").write_text("not a folder")
    with pytest.raises(ValueError, match=r"checkpoint folder .*x\.pickle\.partial' exists and is a file"):
        D.build("nasbench201", ARCH, "cifar10", out=str(out))
    with pytest.raises(ValueError, match="exists and is a file"):
        D.build_hwnasbench(out=str(out))


def test_duplicate_datasets_refused(no_work):
    with pytest.raises(ValueError, match="dataset 'imagenet' is listed twice"):
        D.build_many("fbnet", [ARCH], ["ImageNet", "imagenet"], sample=2)


def _interrupted_build(tmp_path, monkeypatch, kill_build_after):
    """An out= build of 1,200 networks in 300-network chunks, killed after two chunks."""
    out = tmp_path / "nb.parquet"
    real = kill_build_after(2)
    with pytest.raises(KeyboardInterrupt):
        D.build("nasbench201", ARCH, "cifar10", archs=ARCHS, out=str(out), workers=0, network_chunk=300)
    monkeypatch.setattr(B, "_additive_chunk", real)
    chunks = sorted((tmp_path / "nb.parquet.partial").glob("*/networks-*.chunk"))
    assert len(chunks) == 2
    return out, chunks


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_damaged_checkpoint_chunk_is_rebuilt(tmp_path, monkeypatch, kill_build_after, damage):
    reference = D.build("nasbench201", ARCH, "cifar10", archs=ARCHS, workers=0, network_chunk=300)
    out, chunks = _interrupted_build(tmp_path, monkeypatch, kill_build_after)
    blob = chunks[0].read_bytes()
    chunks[0].write_bytes({"truncate": blob[:len(blob) // 2], "flip": blob[:-5] + b"\x00" + blob[-4:],
                           "empty": b""}[damage])
    with pytest.warns(RuntimeWarning, match=r"checkpoint chunk .*networks-00000\.chunk.* is unusable .*rebuilt"):
        frame = D.build("nasbench201", ARCH, "cifar10", archs=ARCHS, out=str(out), workers=0, network_chunk=300)
    pd.testing.assert_frame_equal(frame, reference)
    pd.testing.assert_frame_equal(pd.read_parquet(out), reference)
    assert not (tmp_path / "nb.parquet.partial").exists()


def test_crafted_checkpoint_chunk_is_not_run(tmp_path, monkeypatch, kill_build_after):
    import hashlib

    from accelmodel.datasets.checkpoints import MAGIC

    class Payload:
        def __reduce__(self):
            return (open, (str(tmp_path / "ran"), "w"))

    reference = D.build("nasbench201", ARCH, "cifar10", archs=ARCHS, workers=0, network_chunk=300)
    out, chunks = _interrupted_build(tmp_path, monkeypatch, kill_build_after)
    payload = pickle.dumps({"latency_ms": Payload()})
    chunks[1].write_bytes(MAGIC + hashlib.sha256(payload).digest() + payload)  # a valid digest
    with pytest.warns(RuntimeWarning, match="refused: it names"):
        frame = D.build("nasbench201", ARCH, "cifar10", archs=ARCHS, out=str(out), workers=0, network_chunk=300)
    pd.testing.assert_frame_equal(frame, reference)
    assert not (tmp_path / "ran").exists()


def test_second_build_to_a_busy_output_fails_at_once(tmp_path, no_work):
    from filelock import FileLock

    out = tmp_path / "busy.pickle"
    with FileLock(str(out) + ".lock"):  # what a running build holds
        with pytest.raises(D.OutputInUseError, match=r"busy\.pickle' is being written by another build"):
            D.build("nasbench201", ARCH, "cifar10", out=str(out))
        with pytest.raises(D.OutputInUseError, match="another build"):
            D.build_hwnasbench(out=str(out))


def test_concurrent_builds_to_one_output(tmp_path):
    """Two processes build different networks to one pickle at the same time: each either finishes or fails with
    one clear line; the file holds one complete build, never a mix."""
    out = tmp_path / "shared.pickle"
    procs = []
    for k, archs in enumerate((ARCHS[:600], ARCHS[600:])):
        archs_file = tmp_path / f"archs{k}.txt"
        archs_file.write_text("\n".join(archs) + "\n")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "accelmodel.cli", "build", "nasbench201", "--arch", ARCH, "--dataset", "cifar10",
             "--archs-file", str(archs_file), "--out", str(out), "--workers", "0", "--no-progress"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert all(code == 0 or (code == 2 and ("another build" in err or "other networks" in err))
               for code, err in results), results
    assert sum(code == 0 for code, _ in results) >= 1
    data = pickle.loads(out.read_bytes())
    configs = data["nasbench201"]["cifar10"]["config"]
    written = sorted(c["arch_str"] for c in configs.values())
    assert written in (sorted(ARCHS[:600]), sorted(ARCHS[600:]))
    assert len(data["nasbench201"]["cifar10"]["eyeriss_latency"]) == 600
    assert not (tmp_path / "shared.pickle.partial").exists()


def test_existing_parquet_refused_unless_overwrite(tmp_path):
    out = str(tmp_path / "t.parquet")
    first = D.build("nasbench201", ARCH, "cifar10", archs=ARCHS[:5], out=out, workers=0)
    with pytest.raises(D.OutputExistsError, match=r"t\.parquet' exists; a parquet table is not added to"):
        D.build("nasbench201", ARCH, "cifar10", archs=ARCHS[5:10], out=out, workers=0)
    pd.testing.assert_frame_equal(pd.read_parquet(out), first)
    D.build("nasbench201", ARCH, "cifar10", archs=ARCHS[5:10], out=out, workers=0, overwrite=True)
    assert list(pd.read_parquet(out)["arch_str"]) == ARCHS[5:10]


def test_lock_file_is_released_after_a_failed_build(tmp_path, monkeypatch):
    out = tmp_path / "f.pickle"
    monkeypatch.setattr(B, "_run_all", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        D.build("nasbench201", ARCH, "cifar10", archs=ARCHS[:3], out=str(out))
    monkeypatch.undo()
    D.build("nasbench201", ARCH, "cifar10", archs=ARCHS[:3], out=str(out), workers=0)
    assert out.exists()


def test_lazy_submodules_and_import_time_unchanged():
    code = ("import sys, accelmodel; before = {m for m in sys.modules if m.startswith('accelmodel.')}; "
            "accelmodel.datasets.build; accelmodel.search; accelmodel.hwnasbench; accelmodel.plots; "
            "print(sorted(m for m in ('accelmodel.datasets', 'accelmodel.search', 'accelmodel.hwnasbench', "
            "'accelmodel.plots') if m in before))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"  # none imported by `import accelmodel` itself
    import accelmodel

    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        accelmodel.nope
    assert "datasets" in dir(accelmodel)


def test_a_registered_space_builds_through_the_same_path():
    """The space registry is the extension point: a space is a SearchSpace subclass; the builder never asks
    its name. Here a toy space: FBNet networks restricted to 3x3 blocks, under another name."""
    import numpy as np

    from accelmodel.datasets.spaces import fbnet as fb
    from accelmodel.estimate import estimate
    from accelmodel.workloads import fbnet

    class K3Only(D.SearchSpace):
        name, datasets, default_dataset = "test_fbnet_k3", ("cifar100",), "cifar100"
        workload_space = "fbnet"  # FBNet's graphs: the specs' FBNet conventions apply

        def select(self, archs, sample, seed, index_file, dataset):
            rng = np.random.default_rng(seed)
            choices = rng.choice([0, 1, 2, 3, 8], size=(sample, 22))
            return D.Selection(choices, {"op_idx_list": choices.tolist()})

        def layer_table(self, choices, dataset, batch):
            return fb.layer_table(choices, dataset, batch)

        def graph(self, choice, dataset, batch):
            return fbnet([int(c) for c in choice], dataset, batch)

    D.register_space(K3Only())
    try:
        frame = D.build("test_fbnet_k3", ARCH, sample=5, seed=1, workers=0)
        assert frame.attrs["space"] == "test_fbnet_k3" and len(frame) == 5
        ops = frame["op_idx_list"][2]
        assert set(ops) <= {0, 1, 2, 3, 8}
        assert frame["latency_ms"][2] == pytest.approx(estimate(fbnet(ops, "cifar100"), ARCH).latency_ms, rel=1e-12)
        with pytest.raises(ValueError, match="HW-NAS-Bench pickle layout holds"):
            D.build("test_fbnet_k3", ARCH, sample=5, out="x.pickle")
    finally:
        D.SPACES.pop("test_fbnet_k3")
    with pytest.raises(TypeError, match="takes a SearchSpace"):
        D.register_space("darts")
