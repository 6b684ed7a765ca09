"""Where a build's tasks run: in this process, on local worker processes, or on a dask.distributed cluster."""

from __future__ import annotations

import json
import os
import pickle
import queue
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Iterator

from .worker import BOOTSTRAP, read_frame, write_frame

SCHEDULERS = (None, "processes", "serial", "dask")
#: With workers=None, a process pool is started only when the remaining work is estimated above this.
AUTO_POOL_SECONDS = 4.0


class WorkerError(RuntimeError):
    """A local worker process ended without answering (killed, out of memory, crashed)."""


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker process (attached as the re-raised error's cause)."""

    def __str__(self) -> str:
        return "\n" + self.args[0]


class _Worker:
    def __init__(self, answers: queue.Queue):
        if not sys.executable:
            raise RuntimeError("local worker processes need sys.executable (this Python does not report its own "
                               "path); pass workers=0 to build in this process")
        self.proc = subprocess.Popen([sys.executable, "-c", BOOTSTRAP], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, close_fds=True)
        hello = {"sys_path": [p for p in sys.path if isinstance(p, str)], "parent_pid": os.getpid()}
        self.proc.stdin.write(json.dumps(hello).encode() + b"\n")
        self.proc.stdin.flush()
        self._reader = threading.Thread(target=self._read, args=(answers,), daemon=True)
        self._reader.start()

    def _read(self, answers: queue.Queue) -> None:
        while True:
            frame = read_frame(self.proc.stdout)
            answers.put((self, frame))
            if frame is None:
                return

    def send(self, fn: Callable, args: tuple) -> None:
        try:
            write_frame(self.proc.stdin, pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL))
        except (BrokenPipeError, OSError):
            raise WorkerError(self.ended()) from None

    def ended(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = "still running"
        return (f"local worker process {self.proc.pid} ended (exit code {code}) without finishing its task; "
                "its error output, if any, is above. Rerun with workers=0 to run the task in this process")

    def stop(self, kill: bool) -> None:
        if kill and self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.stdin.close()  # end of tasks: an idle worker exits
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


class LocalPool:
    """Worker processes on this machine (see `worker`): they never import the caller's main module, so a
    script needs no ``if __name__ == "__main__":`` guard, and they end when this process ends or dies."""

    def __init__(self, workers: int):
        self._answers: queue.Queue = queue.Queue()
        self.workers = [_Worker(self._answers) for _ in range(workers)]
        #: worker -> id of the task it is running
        self._running: dict[_Worker, Any] = {}

    @property
    def pids(self) -> list[int]:
        return [w.proc.pid for w in self.workers]

    def run(self, fn: Callable, tasks: list[tuple[Any, tuple]]) -> Iterator[tuple[Any, Any]]:
        pending = list(tasks)
        idle = [w for w in self.workers if w not in self._running]
        running = self._running
        while pending or running:
            while pending and idle:
                worker = idle.pop()
                tid, args = pending.pop(0)
                worker.send(fn, args)
                running[worker] = tid
            worker, frame = self._answers.get()
            tid = running.pop(worker)
            if frame is None:
                raise WorkerError(worker.ended())
            status, value = pickle.loads(frame)
            if status == "error":
                exc, text = value
                raise exc from RemoteTraceback(text)
            idle.append(worker)
            yield tid, value

    def close(self) -> None:
        """Stop the workers: idle ones at end of input, busy ones (a run given up) at once."""
        for worker in self.workers:
            worker.stop(kill=worker in self._running)
        self.workers = []
        self._running.clear()


class Runner:
    """Runs tasks in-process, on local worker processes or on dask; yields (task id, result) as they finish."""

    def __init__(self, workers, scheduler, dask_address):
        if isinstance(scheduler, str) and "://" in scheduler:  # a dask scheduler address given directly
            scheduler, dask_address = "dask", dask_address or scheduler
        if scheduler not in SCHEDULERS:
            raise ValueError(f"scheduler {scheduler!r} is not one of {list(SCHEDULERS)} or a dask address "
                             "('tcp://host:port')")
        if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 0):
            raise ValueError(f"workers must be a non-negative int or None, got {workers!r}")
        if dask_address is not None and scheduler is None:
            scheduler = "dask"
        self.scheduler = scheduler or "processes"
        #: workers=None: decide between this process and a pool from the measured task time.
        self.auto = workers is None
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        self.dask_address = dask_address
        self._pool: LocalPool | None = None
        self._client = None
        self._own_client = False

    def run(self, fn: Callable, tasks: list[tuple[Any, tuple]]):
        if not tasks:
            return
        if self.scheduler == "dask":
            yield from self._run_dask(fn, tasks)
            return
        if self.scheduler == "serial" or self.workers <= 1 or len(tasks) == 1:
            for tid, args in tasks:
                yield tid, fn(*args)
            return
        tasks = list(tasks)
        if self.auto and self._pool is None:
            # Starting workers costs seconds (imports, Numba cache loads): run tasks here until the measured
            # time per task says the rest is worth a pool. The first task also pays this process's one-off
            # warm-up (Numba cache loads), so the estimate starts from the second.
            tid, args = tasks.pop(0)
            yield tid, fn(*args)
            start = time.perf_counter()
            done = 0
            while tasks:
                tid, args = tasks.pop(0)
                yield tid, fn(*args)
                done += 1
                if (time.perf_counter() - start) / done * len(tasks) > AUTO_POOL_SECONDS and len(tasks) > 1:
                    break
            if not tasks:
                return
        if self._pool is None:
            self._pool = LocalPool(min(self.workers, len(tasks)))
        yield from self._pool.run(fn, tasks)

    def _run_dask(self, fn, tasks):
        try:
            from distributed import Client, as_completed as dask_completed, get_client
        except ImportError:  # pragma: no cover - depends on the install
            raise RuntimeError("scheduler='dask' needs dask.distributed: pip install 'accelmodel[dask]'") from None
        if self._client is None:
            if self.dask_address is not None:
                self._client, self._own_client = Client(self.dask_address), True
            else:
                try:
                    self._client = get_client()
                except ValueError:
                    raise ValueError("scheduler='dask' needs a dask address (dask_address / --dask tcp://host:port) "
                                     "or a running distributed.Client") from None
        futures = {}
        for tid, args in tasks:
            futures[self._client.submit(fn, *args, pure=False)] = tid
        try:
            for fut in dask_completed(list(futures)):
                yield futures[fut], fut.result()
        finally:
            for fut in futures:
                fut.cancel()

    def close(self):
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._client is not None and self._own_client:
            self._client.close()
        self._client = None
