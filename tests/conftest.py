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
