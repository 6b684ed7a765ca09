"""Local build workers: they work from any script (no `__main__` guard), report task errors and deaths, and end
when their parent dies (issues 14 and 18). Every subprocess here is bounded in time."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from accelmodel.datasets import LocalPool, WorkerError
from accelmodel.workloads import nasbench201_arch_strings

ARCH = "eyeriss-hwnasbench"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its new parent) counts as gone
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _children(pid: int) -> list[str]:
    """Command lines of the processes whose parent is `pid` (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    args = fh.read().replace(b"\0", b" ").decode(errors="replace")
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                continue
            if ppid == pid:
                out.append(args)
    return out


def _wait_gone(pids, timeout=20.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if _alive(p)]
        if not alive:
            return []
        time.sleep(0.1)
    return [p for p in pids if _alive(p)]


def test_script_without_main_guard_builds_on_workers(tmp_path):
    script = tmp_path / "plain_script.py"
    out = tmp_path / "t.parquet"
    script.write_text(textwrap.dedent(f"""
        import pandas as pd
        from accelmodel import datasets
        print("top level ran")
        archs = {nasbench201_arch_strings()[:40]!r}
        frame = datasets.build("nasbench201", {ARCH!r}, "cifar100", archs=archs, workers=2, out={str(out)!r})
        local = datasets.build("nasbench201", {ARCH!r}, "cifar100", archs=archs, workers=0)
        pd.testing.assert_frame_equal(frame, local)
        print("built", len(frame))
    """))
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("top level ran") == 1  # the workers never ran the script again
    assert "built 40" in res.stdout and out.exists()


def test_task_error_is_raised_with_its_type_and_remote_traceback():
    pool = LocalPool(1)
    try:
        with pytest.raises(ValueError, match="invalid literal") as info:
            list(pool.run(int, [(0, ("12",)), (1, ("not a number",))]))
        assert "Traceback" in str(info.value.__cause__)
        assert sorted(pool.run(int, [(0, ("7",)), (1, ("8",))])) == [(0, 7), (1, 8)]  # the pool goes on
    finally:
        pool.close()


def test_worker_death_is_reported():
    pool = LocalPool(1)
    try:
        with pytest.raises(WorkerError, match=r"worker process \d+ ended \(exit code 3\).*workers=0"):
            list(pool.run(os._exit, [(0, (3,))]))
    finally:
        pool.close()


def test_workers_end_when_the_parent_is_killed(tmp_path):
    """kill -9 of the building process: its workers (busy with a long task) end too, and no
    multiprocessing resource tracker is left behind."""
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent("""
        import sys, time
        from accelmodel.datasets import LocalPool
        pool = LocalPool(2)
        print(" ".join(map(str, pool.pids)), flush=True)
        for _ in pool.run(time.sleep, [(0, (120,)), (1, (120,))]):
            pass
    """))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
        time.sleep(1.0)  # the workers are in their task
        children = _children(parent.pid)
        assert sum("accelmodel.datasets.worker" in args for args in children) == 2
        assert not any("resource_tracker" in args for args in children)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        assert _wait_gone(pids) == []
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
