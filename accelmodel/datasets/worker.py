"""A local build worker: a separate Python process that runs tasks its parent sends and sends back results.

The parent (`runners.LocalPool`) starts ``python -c BOOTSTRAP``, so a worker imports accelmodel and nothing of
the caller's main module: unlike multiprocessing's spawn and forkserver contexts, which import the main script
again in every worker, the calling script needs no ``if __name__ == "__main__":`` guard.

Protocol: the first line on stdin is JSON (the parent's ``sys.path`` and process id); then each task is a
length-prefixed pickle ``(function, args)`` on stdin and each answer a length-prefixed pickle ``("ok", result)``
or ``("error", (exception, traceback text))`` on the worker's original stdout (its fd 1 is pointed at stderr, so
stray prints cannot corrupt the channel). Both ends are this package's own processes, so the pickles are
trusted. A worker ends when its stdin closes (the parent is done or gone), and a watchdog thread ends it
within a fraction of a second when its parent process dies mid-task (the worker is re-parented).
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
import threading
import time
import traceback

#: What the parent runs with ``python -c``: sys.path first, so the parent's accelmodel is the one imported.
BOOTSTRAP = ("import sys, json; hello = json.loads(sys.stdin.buffer.readline()); sys.path[:] = hello['sys_path']; "
             "from accelmodel.datasets.worker import main; main(hello)")
HEADER = struct.Struct(">Q")
#: How often the watchdog checks whether the parent process is still there (seconds).
WATCH_INTERVAL = 0.2


def read_frame(stream) -> bytes | None:
    """One length-prefixed frame from a binary stream, or None at end of stream."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    body = stream.read(size)
    return body if len(body) == size else None


def write_frame(stream, payload: bytes) -> None:
    stream.write(HEADER.pack(len(payload)) + payload)
    stream.flush()


def _exit_when_orphaned(parent_pid: int) -> None:
    while True:
        if os.getppid() != parent_pid:
            os._exit(1)
        time.sleep(WATCH_INTERVAL)


def _answer(fn, args) -> bytes:
    try:
        return pickle.dumps(("ok", fn(*args)), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - every task error goes back to the parent, which raises it
        text = traceback.format_exc()
        try:
            return pickle.dumps(("error", (exc, text)), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - an exception that does not pickle travels as text
            return pickle.dumps(("error", (RuntimeError(f"{type(exc).__name__}: {exc}"), text)))


def main(hello: dict) -> None:
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    # Ctrl-C reaches the whole process group: the parent handles it and stops its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_when_orphaned, args=(int(hello["parent_pid"]),), daemon=True).start()
    tasks = sys.stdin.buffer
    while True:
        frame = read_frame(tasks)
        if frame is None:
            return
        fn, args = pickle.loads(frame)
        write_frame(channel, _answer(fn, args))
