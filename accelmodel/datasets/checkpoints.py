"""Finished chunks of a build, kept on disk so an interrupted build continues where it stopped.

Each chunk is one file: a magic line, the SHA-256 of the payload and the payload (a pickle of dicts, lists,
floats and numpy arrays, read back with the restricted unpickler of `accelmodel.safe_pickle`). A chunk whose
digest does not match (truncated by a full disk, damaged) is reported, deleted and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import warnings

from .. import safe_pickle
from .storage import atomic_write_bytes

MAGIC = b"accelmodel-chunk-v1\n"


class Checkpoint:
    """Finished chunks as files under `root/<digest of the build inputs>/`; none when root is None."""

    def __init__(self, root: str | None, identity: dict):
        self.dir = None
        if root is not None:
            blob = json.dumps(identity, sort_keys=True, default=str).encode()
            self.dir = os.path.join(root, hashlib.sha1(blob).hexdigest()[:16])
            self._identity = blob
            self._ensure_dir()

    def _ensure_dir(self) -> None:
        # also after another process finished the same build and removed the folder
        os.makedirs(self.dir, exist_ok=True)
        identity = os.path.join(self.dir, "identity.json")
        if not os.path.exists(identity):
            atomic_write_bytes(identity, self._identity)

    def _path(self, name: str) -> str:
        return os.path.join(self.dir, name + ".chunk")

    def load(self, name: str):
        """The saved chunk `name`, or None when it is missing or damaged (then it is deleted, with a warning)."""
        if self.dir is None:
            return None
        path = self._path(name)
        try:
            with open(path, "rb") as fh:
                blob = fh.read()
        except FileNotFoundError:
            return None
        head, digest, payload = blob[:len(MAGIC)], blob[len(MAGIC):len(MAGIC) + 32], blob[len(MAGIC) + 32:]
        if head != MAGIC or hashlib.sha256(payload).digest() != digest:
            return self._damaged(path, "its checksum does not match (truncated or damaged)")
        try:
            return safe_pickle.loads(payload, f"checkpoint chunk {path!r}")
        except safe_pickle.PickleFileError as exc:
            return self._damaged(path, str(exc))

    def _damaged(self, path: str, why: str):
        warnings.warn(f"checkpoint chunk {path!r} is unusable ({why}); it is deleted and rebuilt", RuntimeWarning,
                      stacklevel=3)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        return None

    def save(self, name: str, value) -> None:
        if self.dir is not None:
            payload = pickle.dumps(value, protocol=4)
            self._ensure_dir()
            atomic_write_bytes(self._path(name), MAGIC + hashlib.sha256(payload).digest() + payload)

    def done(self) -> None:
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            parent = os.path.dirname(self.dir)
            try:
                os.rmdir(parent)  # only when empty (no other build's chunks)
            except OSError:
                pass


class Checkpoints:
    """Several builds' checkpoints, finished together."""

    def __init__(self, parts):
        self.parts = list(parts)

    def done(self) -> None:
        for part in self.parts:
            part.done()
