"""Output files: checked before any work, written atomically, and one build at a time per output."""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Callable, Iterator

OUTPUT_SUFFIXES = (".parquet", ".pickle", ".pkl")


class OutputInUseError(ValueError):
    """Another build (another process) is writing the same output or checkpoint folder."""


class OutputExistsError(ValueError):
    """The output exists and this build cannot add to it (or would replace what it holds)."""


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write `data` to `path` atomically (see `atomic_write`), synced to disk before the rename."""
    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    atomic_write(path, write)


def atomic_write(path: str, writer: Callable[[str], None]) -> None:
    """Call `writer(tmp_path)` then rename onto `path`, so readers never see a half-written file."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.splitext(path)[1], dir=directory)
    os.close(fd)
    try:
        writer(tmp)
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def output_format(out: str) -> str:
    """``parquet`` or ``pickle`` (HW-NAS-Bench layout) from the suffix of `out`."""
    if out.endswith(".parquet"):
        return "parquet"
    if out.endswith((".pickle", ".pkl")):
        return "pickle"
    raise ValueError(f"out {out!r}: unknown format; the suffix must be one of {list(OUTPUT_SUFFIXES)}")


def check_writable(out: str) -> str:
    """Fail before any work when `out` has an unknown suffix or cannot be written."""
    out = os.fspath(out)
    output_format(out)
    directory = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(directory):
        raise PermissionError(f"out {out!r}: folder {directory!r} does not exist")
    if os.path.isdir(out):
        raise PermissionError(f"out {out!r} is a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise PermissionError(f"out {out!r}: folder {directory!r} is not writable ({exc.strerror})") from None
    if os.path.exists(out) and not os.access(out, os.W_OK):
        raise PermissionError(f"out {out!r} exists and is not writable")
    return out


def check_checkpoint_root(root: str | None) -> str | None:
    """`root` (a folder for checkpoints, created on demand) unless something that is not a folder is there."""
    if root is None:
        return None
    root = os.fspath(root)
    if os.path.exists(root) and not os.path.isdir(root):
        raise ValueError(f"checkpoint folder {root!r} exists and is a file; remove it or pass another "
                         "checkpoint_dir")
    return root


@contextlib.contextmanager
def exclusive(path: str | None) -> Iterator[None]:
    """Hold ``<path>.lock`` (an OS file lock, released when this process ends, however it ends) for the block;
    nothing when `path` is None (a build that writes no file).

    A second build to the same output or checkpoint folder fails at once with OutputInUseError instead of
    racing the first for the checkpoint folder and the output file. The empty lock file stays beside the
    output (removing it could let two builds hold locks on different files); it can be deleted whenever no
    build runs.
    """
    if path is None:
        yield
        return
    from filelock import FileLock, Timeout

    lock = FileLock(os.fspath(path) + ".lock", timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise OutputInUseError(f"{os.fspath(path)!r} is being written by another build (it holds "
                               f"{lock.lock_file!r}); wait for it to finish, or write to another path") from None
    try:
        yield
    finally:
        lock.release()
