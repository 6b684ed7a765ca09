import os

import pytest

# ../shared/reference beside the checkout unless ACCELMODEL_REFERENCE_DIR says otherwise
from accelmodel.validation.hwnasbench_compare import reference_dir


@pytest.fixture(scope="session")
def reference():
    """The reference folder; fails under CI=true when missing, skips otherwise."""
    path = reference_dir()
    if not path.is_dir():
        msg = f"reference data not found at {path} (set ACCELMODEL_REFERENCE_DIR)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture
def kill_build_after(monkeypatch):
    """`kill_build_after(n)`: the dataset builder's chunks raise KeyboardInterrupt (a simulated kill) after `n`
    of them have finished; returns the real chunk function, to restore or wrap."""
    import importlib

    builds = importlib.import_module("accelmodel.datasets.builds")
    real = builds._additive_chunk

    def arm(n: int):
        calls = []

        def flaky(*args):
            calls.append(1)
            if len(calls) > n:
                raise KeyboardInterrupt("simulated kill")
            return real(*args)

        monkeypatch.setattr(builds, "_additive_chunk", flaky)
        return real

    return arm
