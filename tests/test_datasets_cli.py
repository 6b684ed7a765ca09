"""`accelmodel build`: the HW-NAS-Bench drop-in command and the build options' errors (one line, exit 2)."""

import pickle

import pandas as pd
import pytest

from accelmodel import cli
from accelmodel import datasets as D
from accelmodel.workloads import nasbench201_arch_strings

ARCH = "eyeriss-hwnasbench"


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_build_hwnasbench_command(capsys, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(D, "build_hwnasbench", lambda out, **kw: calls.append((out, kw)) or {})
    out = str(tmp_path / "HW-NAS-Bench-v1_0.pickle")
    code, stdout, err = run(capsys, "build", "hwnasbench", "--out", out, "--no-progress")
    assert code == 0, err
    assert calls == [(out, {"merge": None, "workers": None, "dask_address": None, "progress": False,
                            "overwrite": False})]
    assert "measured devices NaN" in stdout
    code, stdout, err = run(capsys, "build", "hwnasbench", "--out", out, "--merge", "orig.pickle", "--workers", "2",
                            "--overwrite")
    assert code == 0, err
    assert calls[1][1]["merge"] == "orig.pickle" and calls[1][1]["workers"] == 2 and calls[1][1]["overwrite"]


@pytest.mark.parametrize("argv, fragment", [
    (["hwnasbench", "--arch", ARCH], "--arch does not apply to `build hwnasbench`"),
    (["hwnasbench", "--dataset", "cifar10"], "--dataset does not apply to `build hwnasbench`"),
    (["hwnasbench", "--sample", "3"], "--sample does not apply"),
    (["nasbench201"], "`build nasbench201` needs --arch"),
    (["nasbench201", "--arch", ARCH, "--merge", "x.pickle"], "--merge does not apply to `build nasbench201`"),
    (["fbnet", "--arch", ARCH, "--index-file", "i.csv", "--sample", "2"], "--index-file does not apply"),
    (["nasbench201", "--arch", f"{ARCH},eyeriss"], "would both write the keys eyeriss_*"),
    (["nasbench201", "--arch", f"{ARCH},{ARCH}"], "listed twice"),
])
def test_build_option_errors_before_work(capsys, tmp_path, monkeypatch, argv, fragment):
    monkeypatch.setattr(D, "build_hwnasbench", lambda *a, **k: pytest.fail("work started"))
    monkeypatch.setattr(D.builds, "_run_all", lambda *a, **k: pytest.fail("work started"))
    out = tmp_path / "x.pickle"
    code, _, err = run(capsys, "build", *argv, "--out", str(out))
    assert code == 2 and fragment in err, err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_archs_file_errors(capsys, tmp_path):
    out = str(tmp_path / "x.parquet")
    code, _, err = run(capsys, "build", "nasbench201", "--arch", ARCH, "--archs-file", str(tmp_path), "--out", out)
    assert code == 2 and "is a folder" in err
    binary = tmp_path / "archs.bin"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    code, _, err = run(capsys, "build", "nasbench201", "--arch", ARCH, "--archs-file", str(binary), "--out", out)
    assert code == 2 and "is not a text file" in err
    code, _, err = run(capsys, "build", "nasbench201", "--arch", ARCH, "--archs-file", str(tmp_path / "no.txt"),
                       "--out", out)
    assert code == 2 and "does not exist" in err


def test_seed_must_be_non_negative(capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        cli.main(["build", "fbnet", "--arch", ARCH, "--sample", "2", "--seed", "-1", "--out", str(tmp_path / "x.parquet")])
    assert info.value.code == 2 and "-1 must be >= 0" in capsys.readouterr().err


def test_archs_file_with_indices_and_overwrite(capsys, tmp_path):
    archs_file = tmp_path / "archs.txt"
    archs_file.write_text("0\n15624\n" + nasbench201_arch_strings()[3] + "\n")
    out = tmp_path / "t.parquet"
    argv = ["build", "nasbench201", "--arch", ARCH, "--archs-file", str(archs_file), "--out", str(out), "--workers",
            "0", "--no-progress"]
    code, _, err = run(capsys, *argv)
    assert code == 0, err
    table = pd.read_parquet(out)
    assert list(table["index"][:2]) == [0, 15624]
    assert table["arch_str"][0] == D.nasbench201_index_order()[0]
    code, _, err = run(capsys, *argv)
    assert code == 2 and "--overwrite" in err
    code, _, err = run(capsys, *argv, "--overwrite")
    assert code == 0, err


def test_pickle_build_adds_to_the_file(capsys, tmp_path):
    out = tmp_path / "nb.pickle"
    base = ["build", "nasbench201", "--dataset", "cifar10", "--sample", "20", "--out", str(out), "--workers", "0",
            "--no-progress"]
    assert run(capsys, *base, "--arch", ARCH)[0] == 0
    assert run(capsys, *base, "--arch", "generic-small")[0] == 0
    per = pickle.loads(out.read_bytes())["nasbench201"]["cifar10"]
    assert len(per["eyeriss_latency"]) == len(per["generic_small_latency"]) == 20
    code, _, err = run(capsys, *base, "--arch", "eyeriss")
    assert code == 2 and "written by arch 'eyeriss-hwnasbench'" in err
