"""The `accelmodel` command line."""

import importlib
import json
import subprocess
import sys
import types

import pandas as pd
import pytest

from accelmodel import cli
from accelmodel import datasets as D
from accelmodel.workloads import nasbench201_arch_strings

ARCH = "eyeriss-hwnasbench"
PNG = b"\x89PNG\r\n\x1a\n"


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_archs_lists_specs(capsys):
    code, out, _ = run(capsys, "archs")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert ARCH in names and "generic-medium" in names
    assert all(len(line.split(maxsplit=1)) == 2 for line in out.splitlines())  # each has a description


def test_estimate_table_json_csv(capsys):
    code, out, _ = run(capsys, "estimate", "nb201:" + nasbench201_arch_strings()[3], "--arch", ARCH)
    assert code == 0 and "latency" in out and "stem" in out and "classifier" in out
    code, out, _ = run(capsys, "estimate", "fbnet:" + ",".join(["3"] * 22), "--arch", ARCH, "--json")
    payload = json.loads(out)
    assert payload["arch"] == ARCH and payload["latency_ms"] > 0
    assert payload["latency_ms"] == pytest.approx(sum(l["latency_ms"] for l in payload["layers"]))
    code, out, _ = run(capsys, "estimate", "alexnet", "--arch", ARCH, "--csv", "--batch", "2")
    assert out.splitlines()[0].startswith("name,type,macs,latency_ms")


def test_unknown_arch_lists_available(capsys):
    code, _, err = run(capsys, "estimate", "resnet18", "--arch", "eyeriss-v9")
    assert code == 2
    assert "eyeriss-v9" in err and "eyeriss-hwnasbench" in err and "generic-small" in err


def test_build_parquet_and_plots(capsys, tmp_path):
    archs_file = tmp_path / "archs.txt"
    archs = nasbench201_arch_strings()[1000:1040]
    archs_file.write_text("\n".join(archs) + "\n")
    out = tmp_path / "t.parquet"
    code, stdout, _ = run(capsys, "build", "nasbench201", "--arch", f"{ARCH},generic-small", "--dataset",
                          "cifar10,cifar100", "--archs-file", str(archs_file), "--out", str(out), "--workers", "0")
    assert code == 0, stdout
    table = pd.read_parquet(out)
    assert len(table) == 4 * 40
    assert set(table["arch"]) == {ARCH, "generic-small"} and set(table["dataset"]) == {"cifar10", "cifar100"}
    one = table[(table["arch"] == ARCH) & (table["dataset"] == "cifar100")].reset_index(drop=True)
    ref = D.build("nasbench201", ARCH, "cifar100", archs=archs, workers=0)
    assert list(one["arch_str"]) == archs
    assert one["latency_ms"].tolist() == pytest.approx(ref["latency_ms"].tolist(), rel=1e-12)

    for kind in ("macs", "pareto"):
        png = tmp_path / f"{kind}.png"
        code, _, err = run(capsys, "plot", kind, str(out), "--out", str(png))
        assert code == 0, err
        assert png.read_bytes()[:8] == PNG
    png = tmp_path / "layers.png"
    code, _, err = run(capsys, "plot", "layers", "resnet18", "--arch", ARCH, "--out", str(png))
    assert code == 0, err
    assert png.read_bytes()[:8] == PNG
    code, _, err = run(capsys, "plot", "pareto", str(out), "--out", str(tmp_path / "x.jpg"))
    assert code == 2 and ".png" in err


def test_build_fbnet_pickle(capsys, tmp_path):
    out = tmp_path / "fb.pickle"
    code, _, err = run(capsys, "build", "fbnet", "--arch", ARCH, "--dataset", "ImageNet", "--sample", "20",
                       "--out", str(out), "--no-progress", "--workers", "0")
    assert code == 0, err
    from accelmodel.hwnasbench import HWNASBenchAPI

    api = HWNASBenchAPI(str(out), "fbnet")
    assert api.query_by_index([0] * 22, "ImageNet")["eyeriss_latency"] > 0


def test_build_unwritable_output_fails_before_work(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(D, "build_many", lambda *a, **k: pytest.fail("work started"))
    code, _, err = run(capsys, "build", "nasbench201", "--arch", ARCH, "--out", str(tmp_path / "no" / "x.parquet"))
    assert code == 2 and "does not exist" in err
    code, _, err = run(capsys, "build", "nasbench201", "--arch", ARCH, "--out", str(tmp_path / "x.json"))
    assert code == 2 and ".parquet" in err


def test_build_bad_names(capsys, tmp_path):
    code, _, err = run(capsys, "build", "nasbench101", "--arch", ARCH, "--out", str(tmp_path / "x.parquet"))
    assert code == 2 and "nasbench201" in err and "fbnet" in err and "darts" in err
    code, _, err = run(capsys, "build", "darts", "--arch", ARCH, "--out", str(tmp_path / "x.parquet"))
    assert code == 2 and "darts needs archs" in err and "sample" in err
    code, _, err = run(capsys, "build", "nasbench201", "--arch", "nope", "--dataset", "cifar10",
                       "--out", str(tmp_path / "x.parquet"))
    assert code == 2 and "eyeriss-hwnasbench" in err
    code, _, err = run(capsys, "build", "nasbench201", "--arch", ARCH, "--dataset", "svhn",
                       "--out", str(tmp_path / "x.parquet"))
    assert code == 2 and "cifar10" in err
    assert not (tmp_path / "x.parquet").exists()


def test_validate_calls_report_lazily(capsys, tmp_path, monkeypatch):
    calls = []
    fake = types.ModuleType("accelmodel.validation.report")

    def write_report(out_dir=None, full=False):
        calls.append((out_dir, full))
        return tmp_path / "REPORT.md"

    fake.write_report = write_report
    import accelmodel.validation as validation

    monkeypatch.setitem(sys.modules, "accelmodel.validation.report", fake)
    monkeypatch.setattr(validation, "report", fake, raising=False)
    code, out, _ = run(capsys, "validate", "--all", "--out", str(tmp_path))
    assert code == 0 and "REPORT.md" in out
    code, out, _ = run(capsys, "validate")
    assert calls == [(str(tmp_path), True), (None, False)]


def test_console_script_entry_point():
    res = subprocess.run([sys.executable, "-m", "accelmodel.cli", "archs"], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0 and ARCH in res.stdout


def test_build_interrupted_then_resumed(capsys, tmp_path, monkeypatch):
    archs_file = tmp_path / "archs.txt"
    archs_file.write_text("\n".join(nasbench201_arch_strings()[:200]) + "\n")
    out = tmp_path / "r.parquet"
    argv = ["build", "nasbench201", "--arch", f"{ARCH},generic-small", "--dataset", "cifar10",
            "--archs-file", str(archs_file), "--out", str(out), "--workers", "0", "--no-progress"]
    builds = importlib.import_module("accelmodel.datasets.builds")
    real = builds._additive_chunk
    calls = []

    def dies_in_second_arch(*a):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("killed")
        return real(*a)

    monkeypatch.setattr(builds, "_additive_chunk", dies_in_second_arch)
    monkeypatch.setenv("ACCELMODEL_TRACEBACK", "1")  # let the simulated kill propagate instead of one stderr line
    with pytest.raises(RuntimeError, match="killed"):
        cli.main(argv)
    assert not out.exists()
    calls.clear()
    monkeypatch.delenv("ACCELMODEL_TRACEBACK")
    monkeypatch.setattr(builds, "_additive_chunk", lambda *a: (calls.append(1), real(*a))[1])
    assert cli.main(argv) == 0
    assert len(calls) == 1  # the first arch's table came from the checkpoint
    assert len(pd.read_parquet(out)) == 400
    assert not (tmp_path / "r.parquet.partial").exists()


def test_build_on_dask_address(capsys, tmp_path):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "d.parquet"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://",
                                  host="127.0.0.1", dashboard_address=":0") as cluster:
        code, _, err = run(capsys, "build", "fbnet", "--arch", ARCH, "--dataset", "cifar100", "--sample", "30",
                           "--out", str(out), "--dask", cluster.scheduler_address, "--no-progress")
    assert code == 0, err
    local = D.build("fbnet", ARCH, "cifar100", sample=30, workers=0)
    pd.testing.assert_frame_equal(pd.read_parquet(out), local)
