"""Reading pickles that come from users' files without running their code.

`pickle.load` calls whatever a file names, so a crafted file runs its payload. Every pickle accelmodel reads
from a path a user gives (HW-NAS-Bench files, index files, build checkpoints) goes through `load` instead:
an unpickler that admits only data. HW-NAS-Bench-v1_0.pickle holds dicts, lists, strings and floats, which
pickle encodes without naming any callable; besides those we admit the few callables that rebuild built-in
containers and numpy arrays and scalars (files written by accelmodel before 0.2 and by other tools hold numpy
arrays), none of which runs user code.
"""

from __future__ import annotations

import codecs
import collections
import os
import pickle
from typing import Any, Callable


class PickleFileError(ValueError):
    """A pickle that cannot be read as data: refused (names a callable outside the allowed set) or damaged."""


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    # Protocol-2 pickles spell `bytes` (e.g. a numpy array's buffer) as _codecs.encode(text, "latin1").
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r} (only latin1 rebuilds bytes)")
    return codecs.encode(text, "latin1")


def _numpy(name: str) -> Callable[[], Any]:
    """Resolve a numpy-internal callable under numpy >= 2 (numpy._core) or older numpy (numpy.core)."""
    def resolve():
        import importlib

        module, attr = name.rsplit(".", 1)
        for prefix in ("numpy._core", "numpy.core"):
            try:
                return getattr(importlib.import_module(f"{prefix}.{module}"), attr)
            except (ImportError, AttributeError):
                continue
        raise pickle.UnpicklingError(f"numpy has no {name}")
    return resolve


def _numpy_attr(attr: str) -> Callable[[], Any]:
    def resolve():
        import numpy

        return getattr(numpy, attr)
    return resolve


_NUMPY_INTERNALS = {"multiarray._reconstruct": _numpy("multiarray._reconstruct"),
                    "multiarray.scalar": _numpy("multiarray.scalar"),
                    "numeric._frombuffer": _numpy("numeric._frombuffer")}

#: (module, name) as a pickle spells it -> a function returning the object to use.
ALLOWED: dict[tuple[str, str], Callable[[], Any]] = {
    ("builtins", "set"): lambda: set,
    ("builtins", "frozenset"): lambda: frozenset,
    ("builtins", "complex"): lambda: complex,
    ("builtins", "bytearray"): lambda: bytearray,
    ("collections", "OrderedDict"): lambda: collections.OrderedDict,
    ("_codecs", "encode"): lambda: _latin1_encode,
    ("numpy", "ndarray"): _numpy_attr("ndarray"),
    ("numpy", "dtype"): _numpy_attr("dtype"),
    **{(f"{prefix}.{name.rsplit('.', 1)[0]}", name.rsplit(".", 1)[1]): resolve
       for name, resolve in _NUMPY_INTERNALS.items() for prefix in ("numpy.core", "numpy._core")},
}


class _DataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED:  # Python 2 spellings (__builtin__.set), as pickle's own find_class maps
            from _compat_pickle import IMPORT_MAPPING, NAME_MAPPING

            module, name = NAME_MAPPING.get((module, name), (IMPORT_MAPPING.get(module, module), name))
        resolve = ALLOWED.get((module, name))
        if resolve is None:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which is not data")
        return resolve()


def load(path: str | os.PathLike, what: str = "file") -> Any:
    """The data in the pickle at `path`, read with the restricted unpickler.

    Raises FileNotFoundError when `path` does not exist, and PickleFileError naming `what` and the path when
    the file names a callable outside `ALLOWED` (a crafted file) or is not a readable pickle (truncated,
    corrupt, another format)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what} {path!r} does not exist")
    if os.path.isdir(path):
        raise PickleFileError(f"{what} {path!r} is a folder, not a pickle file")
    with open(path, "rb") as fh:
        return _load_stream(fh, f"{what} {path!r}")


def loads(data: bytes, source: str) -> Any:
    """`load` for bytes in memory; `source` names where they came from in errors."""
    import io

    return _load_stream(io.BytesIO(data), source)


def _load_stream(fh, source: str) -> Any:
    try:
        return _DataUnpickler(fh).load()
    except pickle.UnpicklingError as exc:
        if str(exc).startswith("it names "):
            raise PickleFileError(f"{source} refused: {exc}; only dicts, lists, strings, numbers and numpy arrays "
                                  "are read from a pickle (a crafted file could run code)") from None
        raise PickleFileError(f"{source} is not a readable pickle ({exc})") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, MemoryError, OverflowError,
            UnicodeDecodeError, ImportError) as exc:
        raise PickleFileError(f"{source} is not a readable pickle (truncated or damaged: "
                              f"{type(exc).__name__}: {exc})") from None
