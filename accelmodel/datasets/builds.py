"""Whole-search-space tables: latency and energy of every network of a NAS space on one accelerator.

How a build works (`build`):

1. The space becomes a `LayerTable`: its unique layers (one row per shape signature) and, per network, the
   sequence of row indices in the network's topological order. NAS-Bench-201 and FBNet are not built as
   15,625 / 100,000 networkx graphs: a network there is a template (fixed stem / reduction / head layers)
   whose slots (a cell edge, an FBNet position) take one of a few choices, and the layers of each
   (slot, choice) are read once from a handful of real graphs (`SlotSpace`). A test checks that every
   sequence equals the layers of the graph `accelmodel.workloads` builds.
2. Stage 1, for layer-additive mappers: each unique row is mapped once (`map_layer`, shared with
   `accelmodel.estimate`'s cache), in chunks of rows spread over the workers.
3. Stage 2: networks in chunks. Additive: a gather-and-sum over the per-row cost vectors. Non-additive
   (the chunk-pipelined FPGA): the mapper's batch interface ``encode_layers`` / ``evaluate_sequences`` when
   it has one, else ``map_network`` per network graph.

Every finished chunk is saved atomically under a checkpoint folder (default ``<out>.partial``), so an
interrupted build continues where it stopped; the output is written to a temporary file and renamed.
Chunks run in-process, on a local process pool (spawn context) or on a dask.distributed cluster.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import os
import pickle
import re
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from .specs import ArchSpec, load_spec
from .workloads import Layer, LayerGraph
# By module path: the package binds the names `fbnet` / `nasbench201` to the builder functions.
fbnet_mod = importlib.import_module("accelmodel.workloads.fbnet")
nb201_mod = importlib.import_module("accelmodel.workloads.nasbench201")

SPACES = ("nasbench201", "fbnet")
OUTPUT_SUFFIXES = (".parquet", ".pickle", ".pkl")
#: Rows of unique layers per stage-1 task, networks per stage-2 task.
LAYER_CHUNK = 16
NETWORK_CHUNK = 5000
SCHEDULERS = (None, "processes", "serial", "dask")
#: With workers=None, a process pool is started only when the remaining work is estimated above this.
AUTO_POOL_SECONDS = 4.0


# ---- spaces as templates with slots ---------------------------------------------------------------

@dataclass
class LayerTable:
    """Unique layers plus, per network, the row indices of its layers in topological order.

    `sequences(start, stop)` yields the (padded, -1) row-index matrix and lengths of networks
    ``start..stop-1``; it is computed on demand so 100,000 FBNet networks never sit in memory as graphs.
    """

    layers: list[Layer]

    def __len__(self) -> int:  # number of networks
        raise NotImplementedError

    def sequences(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def graph(self, i: int) -> LayerGraph:
        """Network i as a real LayerGraph (for mappers without a batch interface)."""
        raise NotImplementedError


def _compact(padded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move the valid (>= 0) entries of each row to its front, keeping their order; (matrix, lengths)."""
    valid = padded >= 0
    order = np.argsort(~valid, axis=1, kind="stable")
    seq = np.take_along_axis(padded, order, axis=1)
    lengths = valid.sum(axis=1).astype(np.int64)
    width = int(lengths.max()) if len(lengths) else 0
    return np.ascontiguousarray(seq[:, :width]), lengths


class _Rows:
    """Signature -> row index over a growing list of unique layers."""

    def __init__(self):
        self.layers: list[Layer] = []
        self.index: dict[tuple, int] = {}

    def row(self, layer: Layer) -> int:
        r = self.index.get(layer.signature)
        if r is None:
            r = self.index[layer.signature] = len(self.layers)
            self.layers.append(layer)
        return r


class SlotSpace(LayerTable):
    """A space whose networks are one template with variable slots.

    `template` lists, in topological order, either a fixed row (``(0, row)``) or a slot (``(1, slot)``);
    slot s takes the choice of variable ``slot_var[s]`` and then contributes rows ``slot_rows[s][choice]``.
    `choices` is the (networks x variables) choice matrix.
    """

    def __init__(self, space, dataset, batch, layers, template, slot_var, slot_rows, choices, build_graph,
                 slot_keys=None, fixed_keys=None):
        self.space, self.dataset, self.batch = space, dataset, batch
        self.layers = layers
        self.template = template
        self.slot_var = np.asarray(slot_var, dtype=np.int64)
        self.slot_rows = slot_rows
        self.choices = np.asarray(choices, dtype=np.int64)
        self._build_graph = build_graph
        #: Optional lookup-table key of each (slot, choice) and of each fixed row (FBNet).
        self.slot_keys = slot_keys
        self.fixed_keys = fixed_keys
        self._tables = []
        for kind, value in template:
            if kind == 0:
                self._tables.append(None)
            else:
                rows = slot_rows[value]
                width = max(len(r) for r in rows)
                table = np.full((len(rows), width), -1, dtype=np.int64)
                for c, r in enumerate(rows):
                    table[c, :len(r)] = r
                self._tables.append(table)

    def __len__(self) -> int:
        return len(self.choices)

    def sequences(self, start: int, stop: int):
        ch = self.choices[start:stop]
        parts = []
        for (kind, value), table in zip(self.template, self._tables):
            if kind == 0:
                parts.append(np.full((len(ch), 1), value, dtype=np.int64))
            else:
                parts.append(table[ch[:, self.slot_var[value]]])
        return _compact(np.hstack(parts))

    def sequence(self, choice: Sequence[int]) -> list[int]:
        out = []
        for kind, value in self.template:
            out.extend([value] if kind == 0 else self.slot_rows[value][choice[self.slot_var[value]]])
        return out

    def graph(self, i: int) -> LayerGraph:
        return self._build_graph(self.choices[i])

    def graph_source(self, start: int, stop: int):
        return (self.space, self.dataset, self.batch, self.choices[start:stop])


class GraphSpace(LayerTable):
    """Any iterable of LayerGraphs."""

    def __init__(self, graphs: Iterable[LayerGraph]):
        rows = _Rows()
        self.graphs = list(graphs)
        if not self.graphs:
            raise ValueError("space: the iterable of LayerGraphs is empty")
        seqs = []
        for g in self.graphs:
            if not isinstance(g, LayerGraph):
                raise ValueError(f"space: expected LayerGraph items, got {type(g).__name__}")
            seqs.append([rows.row(l) for l in g.layers])
        self.layers = rows.layers
        width = max(len(s) for s in seqs)
        self._seq = np.full((len(seqs), width), -1, dtype=np.int64)
        for i, s in enumerate(seqs):
            self._seq[i, :len(s)] = s
        self._len = np.array([len(s) for s in seqs], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.graphs)

    def sequences(self, start: int, stop: int):
        return self._seq[start:stop], self._len[start:stop]

    def graph(self, i: int) -> LayerGraph:
        return self.graphs[i]

    def graph_source(self, start: int, stop: int):
        return self.graphs[start:stop]


_NB201_EDGE_RE = re.compile(r"^s(\d)c(\d)\.e(\d)(\d)\.")


def nasbench201_space(choices: np.ndarray, dataset: str, batch: int = 1) -> SlotSpace:
    """NAS-Bench-201 as a template: 18 slots (stage x edge), 6 variables (the edges), 5 choices (OPS)."""
    ops = nb201_mod.OPS
    edge_of = {e: k for k, e in enumerate(nb201_mod.EDGES)}
    rows = _Rows()
    slot_rows: list[list[tuple[int, ...] | None]] = [[None] * len(ops) for _ in range(3 * nb201_mod.NUM_EDGES)]
    template = fixed_sig = None
    for c, op in enumerate(ops):
        g = nb201_mod.nasbench201([op] * nb201_mod.NUM_EDGES, dataset=dataset, batch=batch)
        entries, sigs = [], []
        for layer in g.layers:
            m = _NB201_EDGE_RE.match(layer.name) if layer.tag("cell_op") else None
            if m is None:
                entries.append((0, rows.row(layer)))
                sigs.append(layer.signature)
                continue
            stage, _cell, node, src = map(int, m.groups())
            slot = stage * nb201_mod.NUM_EDGES + edge_of[(node, src)]
            row = (rows.row(layer),)
            if slot_rows[slot][c] is not None and slot_rows[slot][c] != row:
                raise AssertionError(f"NAS-Bench-201 slot {slot} differs between cells of one stage")
            slot_rows[slot][c] = row
            entries.append((1, slot))
        if template is None:
            template, fixed_sig = entries, sigs
        elif [k for k, _ in entries] != [k for k, _ in template] or sigs != fixed_sig:
            raise AssertionError("NAS-Bench-201 template differs between ops; the slot decomposition is invalid")
    slot_var = [s % nb201_mod.NUM_EDGES for s in range(len(slot_rows))]
    return SlotSpace("nasbench201", dataset, batch, rows.layers, template, slot_var, slot_rows, choices,
                     lambda ch: nb201_mod.nasbench201([ops[i] for i in ch], dataset=dataset, batch=batch))


def fbnet_space(choices: np.ndarray, dataset: str, batch: int = 1) -> SlotSpace:
    """FBNet as a template: 22 slots (the positions), one variable each, 9 choices (the blocks)."""
    n_pos, n_blocks = fbnet_mod.NUM_POSITIONS, len(fbnet_mod.BLOCKS)
    rows = _Rows()
    slot_rows = [[None] * n_blocks for _ in range(n_pos)]
    slot_keys = [[None] * n_blocks for _ in range(n_pos)]
    template = fixed_sig = None
    fixed_keys: dict[int, str] = {}
    for b in range(n_blocks):
        g = fbnet_mod.fbnet([b] * n_pos, dataset=dataset, batch=batch)
        entries, sigs, current = [], [], {}
        for layer in g.layers:
            pos = layer.tag("position")
            if pos is not None and pos.isdigit():
                p = int(pos)
                if p not in current:
                    current[p] = []
                    entries.append((1, p))
                current[p].append(rows.row(layer))
                slot_keys[p][b] = layer.tag("block")
            else:
                r = rows.row(layer)
                fixed_keys[r] = layer.tag("block")
                entries.append((0, r))
                sigs.append(layer.signature)
        for p, rs in current.items():
            slot_rows[p][b] = tuple(rs)
        if template is None:
            template, fixed_sig = entries, sigs
        elif entries != template or sigs != fixed_sig:
            raise AssertionError("FBNet template differs between blocks; the slot decomposition is invalid")
    return SlotSpace("fbnet", dataset, batch, rows.layers, template, list(range(n_pos)), slot_rows, choices,
                     lambda ch: fbnet_mod.fbnet([int(i) for i in ch], dataset=dataset, batch=batch),
                     slot_keys=slot_keys, fixed_keys=fixed_keys)


# ---- which networks ------------------------------------------------------------------------------

def _check_space(space) -> str | None:
    if isinstance(space, str):
        if space not in SPACES:
            raise ValueError(f"space {space!r} is not one of {list(SPACES)} (or an iterable of LayerGraphs)")
        return space
    return None


def check_dataset(space: str, dataset: str) -> str:
    if space == "nasbench201":
        if dataset not in nb201_mod.DATASETS:
            raise ValueError(f"dataset {dataset!r} is not one of {list(nb201_mod.DATASETS)} for nasbench201")
        return dataset
    try:
        return fbnet_mod.canonical_dataset(dataset)
    except ValueError:
        raise ValueError(f"dataset {dataset!r} is not one of {list(fbnet_mod.DATASETS)} for fbnet "
                         "(HW-NAS-Bench's 'ImageNet' is accepted too)") from None


@functools.lru_cache(maxsize=1)
def _nb201_codes() -> tuple[list[str], dict[str, int]]:
    """All canonical arch strings in `itertools.product` order and their position (the base-5 code of the
    six op indices, first edge most significant): parsing 15,625 strings one by one would dominate a build."""
    strings = nb201_mod.nasbench201_arch_strings()
    return strings, {a: i for i, a in enumerate(strings)}


def _nb201_code(arch) -> int:
    strings, code = _nb201_codes()
    if isinstance(arch, str) and arch in code:
        return code[arch]
    return code[nb201_mod.arch_string(nb201_mod.parse_arch(arch))]


_NB201_PLACES = len(nb201_mod.OPS) ** np.arange(nb201_mod.NUM_EDGES - 1, -1, -1)


def nasbench201_choices(archs, sample, seed, index_file, dataset) -> tuple[np.ndarray, list[int] | None]:
    """(choice matrix, NAS-Bench-201 indices or None) for the requested NAS-Bench-201 networks."""
    index = None
    if index_file is not None:
        from .hwnasbench import read_index

        index = read_index(index_file, dataset)
    if archs is None:
        if index is not None:
            idx = sorted(index)
            strings = [index[i] for i in idx]
        else:
            idx, strings = None, list(_nb201_codes()[0])
    else:
        if isinstance(archs, (str, int)):
            archs = [archs]
        archs = list(archs)
        if not archs:
            raise ValueError("archs is empty; give at least one network (or archs=None for all 15,625)")
        strings, idx = [], ([] if index is not None else None)
        by_str = {s: i for i, s in index.items()} if index is not None else None
        for a in archs:
            if isinstance(a, (int, np.integer)) and not isinstance(a, bool):
                if index is None:
                    raise ValueError(f"archs: NAS-Bench-201 index {a} needs index_file (a CSV with index,arch_str "
                                     "or a HW-NAS-Bench pickle); without one give arch strings")
                if int(a) not in index:
                    raise ValueError(f"archs: index {a} is not in index_file {os.fspath(index_file)!r}")
                idx.append(int(a))
                strings.append(index[int(a)])
            else:
                s = _nb201_codes()[0][_nb201_code(a)]
                strings.append(s)
                if by_str is not None:
                    if s not in by_str:
                        raise ValueError(f"archs: {s!r} is not in index_file {os.fspath(index_file)!r}")
                    idx.append(by_str[s])
    if sample is not None:
        pick = _sample_rows(len(strings), sample, seed, replace=False)
        strings = [strings[i] for i in pick]
        idx = [idx[i] for i in pick] if idx is not None else None
    codes = np.array([_nb201_code(a) for a in strings], dtype=np.int64)
    choices = (codes[:, None] // _NB201_PLACES[None, :]) % len(nb201_mod.OPS)
    return choices.reshape(-1, nb201_mod.NUM_EDGES), idx


def nasbench201_strings(choices: np.ndarray) -> list[str]:
    strings, _ = _nb201_codes()
    return [strings[c] for c in (choices @ _NB201_PLACES).tolist()]


def _sample_rows(n: int, sample, seed, replace: bool) -> np.ndarray:
    if not isinstance(sample, (int, np.integer)) or isinstance(sample, bool) or sample <= 0:
        raise ValueError(f"sample must be a positive int, got {sample!r}")
    if not replace and sample > n:
        raise ValueError(f"sample {sample} is larger than the {n} networks to draw from")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=int(sample), replace=False))


def fbnet_choices(archs, sample, seed) -> np.ndarray:
    if archs is None and sample is None:
        raise ValueError("fbnet needs archs (op index lists) or sample (how many random networks); its "
                         f"{len(fbnet_mod.BLOCKS)}^{fbnet_mod.NUM_POSITIONS} networks cannot all be built")
    if archs is not None and sample is not None:
        raise ValueError("fbnet: give archs or sample, not both")
    if archs is not None:
        if isinstance(archs, str):
            archs = [archs]
        archs = list(archs)
        if not archs:
            raise ValueError("archs is empty; give at least one FBNet op list")
        return np.array([fbnet_mod.op_indices(a) for a in archs], dtype=np.int64).reshape(-1, fbnet_mod.NUM_POSITIONS)
    if not isinstance(sample, (int, np.integer)) or isinstance(sample, bool) or sample <= 0:
        raise ValueError(f"sample must be a positive int, got {sample!r}")
    rng = np.random.default_rng(seed)
    return rng.integers(0, len(fbnet_mod.BLOCKS), size=(int(sample), fbnet_mod.NUM_POSITIONS), dtype=np.int64)


# ---- workers ---------------------------------------------------------------------------------------

_CONFIGS: dict[tuple, tuple] = {}
#: (spec digest, budget, objective, layer signature) -> (latency_ms, energy_mj), filled from every worker's
#: results so that a second build in this process needs no mapping at all.
_ROW_CACHE: dict[tuple, dict[str, float]] = {}


def _configured(spec: ArchSpec, budget):
    key = (spec.name, spec.digest, json.dumps(budget or {}, sort_keys=True, default=str))
    if key not in _CONFIGS:
        from .estimate import configure

        _, mapper, config = configure(spec, budget)
        _CONFIGS[key] = (mapper, config)
    return _CONFIGS[key]


def map_rows_task(spec: ArchSpec, budget, objective: str, layers: list[Layer]) -> list[dict[str, float]]:
    """Stage 1: per unique layer under an additive mapper, latency_ms, energy_mj, energy_<level>_mj and
    accesses_dram (what every LayerCost reports and what adds up over a network)."""
    from .estimate import map_layers

    mapper, config = _configured(spec, budget)
    out = []
    for c in map_layers(layers, mapper, config, objective):
        row = {"latency_ms": c.latency_s * 1e3, "energy_mj": c.energy_total_j * 1e3,
               "accesses_dram": float(c.accesses.get("dram", 0.0))}
        row.update({f"energy_{level}_mj": joules * 1e3 for level, joules in c.energy_j.items()})
        out.append(row)
    return out


def sequences_task(spec: ArchSpec, budget, objective: str, encoded: np.ndarray, seq: np.ndarray,
                   lengths: np.ndarray) -> dict[str, np.ndarray]:
    """Stage 2 for a non-additive mapper with a batch interface."""
    mapper, config = _configured(spec, budget)
    out = mapper.evaluate_sequences(encoded, seq, lengths, config, objective)
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def graphs_task(spec: ArchSpec, budget, objective: str, source) -> dict[str, np.ndarray]:
    """Stage 2 for a non-additive mapper without a batch interface: `map_network` per graph. `source` is a
    list of LayerGraphs or ``(space, dataset, batch, choices)``, built here so that no process holds the
    graphs of every chunk at once."""
    mapper, config = _configured(spec, budget)
    if isinstance(source, tuple):
        space, dataset, batch, choices = source
        if space == "nasbench201":
            graphs = [nb201_mod.nasbench201([nb201_mod.OPS[i] for i in ch], dataset=dataset, batch=batch)
                      for ch in choices]
        else:
            graphs = [fbnet_mod.fbnet([int(i) for i in ch], dataset=dataset, batch=batch) for ch in choices]
    else:
        graphs = source
    cols: dict[str, list] = {"latency_ms": [], "energy_mj": []}
    for g in graphs:
        net = mapper.map_network(g, config, objective)
        cols["latency_ms"].append(net.latency_s * 1e3)
        cols["energy_mj"].append(net.energy_j * 1e3)
        for k, v in net.extra.items():
            if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
                cols.setdefault(k, []).append(float(v))
    return {k: np.asarray(v, dtype=np.float64) for k, v in cols.items() if len(v) == len(graphs)}


class _Runner:
    """Runs tasks in-process, on a spawn process pool or on dask; yields (task id, result) as they finish."""

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
        self._pool = None
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
        if self.auto:
            # Starting spawned workers costs seconds (imports, Numba cache loads): run tasks here until the
            # measured time per task says the rest is worth a pool.
            # The first task also pays this process's one-off warm-up (Numba cache loads), so the estimate
            # starts from the second.
            tasks = list(tasks)
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
            import multiprocessing

            self._pool = ProcessPoolExecutor(max_workers=min(self.workers, len(tasks)),
                                             mp_context=multiprocessing.get_context("spawn"))
        from concurrent.futures.process import BrokenProcessPool

        futures = {self._pool.submit(fn, *args): tid for tid, args in tasks}
        try:
            for fut in as_completed(futures):
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    raise RuntimeError(
                        "a worker process died. Workers are started with 'spawn', which imports your main "
                        "script again: put the calling code under `if __name__ == '__main__':`, or pass "
                        "workers=0 to run in this process") from None
                yield futures[fut], result
        finally:
            for fut in futures:
                fut.cancel()

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
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._client is not None and self._own_client:
            self._client.close()
        self._client = None


# ---- checkpoints and atomic files -----------------------------------------------------------------

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


def check_writable(out: str) -> str:
    """Fail before any work when `out` has an unknown suffix or cannot be written."""
    out = os.fspath(out)
    if not out.endswith(OUTPUT_SUFFIXES):
        raise ValueError(f"out {out!r}: unknown format; the suffix must be one of {list(OUTPUT_SUFFIXES)}")
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


class _Checkpoint:
    """Finished chunks as files under `root/<digest of the build inputs>/`; none when root is None."""

    def __init__(self, root: str | None, identity: dict):
        self.dir = None
        if root is not None:
            blob = json.dumps(identity, sort_keys=True, default=str).encode()
            self.dir = os.path.join(root, hashlib.sha1(blob).hexdigest()[:16])
            os.makedirs(self.dir, exist_ok=True)
            atomic_write_bytes(os.path.join(self.dir, "identity.json"), blob)

    def load(self, name: str):
        if self.dir is None:
            return None
        path = os.path.join(self.dir, name + ".pkl")
        if not os.path.exists(path):
            return None
        with open(path, "rb") as fh:
            return pickle.load(fh)

    def save(self, name: str, value) -> None:
        if self.dir is not None:
            atomic_write_bytes(os.path.join(self.dir, name + ".pkl"), pickle.dumps(value, protocol=5))

    def done(self) -> None:
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            parent = os.path.dirname(self.dir)
            if os.path.isdir(parent) and not os.listdir(parent):
                os.rmdir(parent)


# ---- the build -------------------------------------------------------------------------------------

def build(space, arch, dataset=None, archs=None, sample=None, seed=0, out=None, index_file=None, workers=None,
          scheduler=None, *, objective: str | None = None, budget: dict | None = None, batch: int = 1,
          dask_address: str | None = None, checkpoint_dir: str | None = None, progress: bool = False,
          network_chunk: int = NETWORK_CHUNK) -> pd.DataFrame:
    """Latency and energy of many networks of one space on one accelerator, as a DataFrame.

    - `space`: ``nasbench201`` (all 15,625 networks unless `archs` / `sample`), ``fbnet`` (needs `archs`, a
      list of 22-int op lists, or `sample`, a number of uniformly random networks drawn with `seed`), or an
      iterable of LayerGraphs.
    - `arch`: a spec name, YAML path, dict or ArchSpec; `budget` overrides spec fields; `objective` as in
      `estimate`.
    - `dataset`: ``cifar10``/``cifar100``/``ImageNet16-120`` (NAS-Bench-201), ``cifar100``/``imagenet``
      (FBNet). `index_file` (NAS-Bench-201): a CSV with ``index,arch_str`` or a HW-NAS-Bench pickle; rows
      then carry the NAS-Bench-201 ``index`` and `archs` may hold indices.
    - `out`: ``.parquet`` or ``.pickle``/``.pkl`` (HW-NAS-Bench layout, see `accelmodel.hwnasbench`);
      written atomically; finished chunks are kept in `checkpoint_dir` (default ``<out>.partial``) so a
      rerun after an interruption continues.
    - `workers`: local process count (default: all cores, started only when the measured work outweighs
      their start-up; 0/1 = in this process); `scheduler`: ``processes`` (default), ``serial`` or ``dask``
      (with `dask_address`, else the current distributed client), or a dask address ``tcp://host:port``.
      Process workers are spawned: scripts need ``if __name__ == "__main__":``.

    Columns: ``arch_str`` (NAS-Bench-201) / ``op_idx_list`` (FBNet) / ``network`` (graphs), ``latency_ms``,
    ``energy_mj``, ``macs``, plus what the mapper reports per network (e.g. ``throughput_gops``). Rows
    follow the input order.
    """
    return build_many(space, [arch], [dataset], archs=archs, sample=sample, seed=seed, out=out,
                      index_file=index_file, workers=workers, scheduler=scheduler, objective=objective,
                      budget=budget, batch=batch, dask_address=dask_address, checkpoint_dir=checkpoint_dir,
                      progress=progress, network_chunk=network_chunk)[0]


def build_many(space, arches: Sequence, datasets: Sequence, *, out=None, checkpoint_dir=None, **kwargs
               ) -> list[pd.DataFrame]:
    """`build` for every (arch, dataset) pair, written together to one `out` (checked before any work).

    Parquet: one table with ``arch`` and ``dataset`` columns in front. Pickle: one HW-NAS-Bench-layout
    file holding every pair. Returns the frames, arch-major.
    """
    if out is not None:
        out = check_writable(out)
        if checkpoint_dir is None:
            checkpoint_dir = os.fspath(out) + ".partial"
        if not isinstance(space, str) and not out.endswith(".parquet"):
            raise ValueError("the HW-NAS-Bench pickle layout holds 'nasbench201' or 'fbnet' builds; "
                             "write a list of LayerGraphs to .parquet")
    if isinstance(space, str):
        _check_space(space)
        for d in datasets:
            if d is not None:
                check_dataset(space, d)
    specs = [load_spec(a) for a in arches]  # unknown arch names fail here, listing the available ones
    want_lookup = out is not None and out.endswith((".pickle", ".pkl")) and space == "fbnet"
    results = []
    for spec in specs:
        for d in datasets:
            results.append(_build_one(space, spec, d, checkpoint_dir=checkpoint_dir, want_lookup=want_lookup,
                                      **kwargs))
    frames = [r[0] for r in results]
    if out is not None:
        if out.endswith(".parquet"):
            if len(frames) == 1:
                table = frames[0]
            else:
                table = pd.concat([f.assign(arch=f.attrs["arch"], dataset=f.attrs["dataset"])[
                    ["arch", "dataset"] + list(f.columns)] for f in frames], ignore_index=True)
            atomic_write(out, lambda tmp: table.to_parquet(tmp, index=False))
        else:
            from .hwnasbench import to_hwnasbench

            data = to_hwnasbench([(space, f.attrs["dataset"], f.attrs["arch"], f, r[1]) for f, r in zip(frames, results)])
            atomic_write_bytes(out, pickle.dumps(data, protocol=4))
    for r in results:
        r[2].done()
    return frames


def _build_one(space, arch, dataset=None, archs=None, sample=None, seed=0, index_file=None, workers=None,
               scheduler=None, *, objective=None, budget=None, batch=1, dask_address=None, checkpoint_dir=None,
               progress=False, network_chunk=NETWORK_CHUNK, want_lookup=False):
    if not isinstance(network_chunk, int) or network_chunk <= 0:
        raise ValueError(f"network_chunk must be a positive int, got {network_chunk!r}")
    space_name = _check_space(space)
    spec = load_spec(arch)
    if space_name:
        spec = spec.for_space(space_name)  # the spec's conventions for this workload space, if it has any
    from .mappers import resolve_objective

    mapper, config = _configured(spec, budget)
    additive = not hasattr(mapper, "map_network")

    index = None
    if space_name == "nasbench201":
        dataset = check_dataset(space_name, dataset or "cifar10")
        choices, index = nasbench201_choices(archs, sample, seed, index_file, dataset)
        table = nasbench201_space(choices, dataset, batch)
        ident_cols = {"arch_str": nasbench201_strings(choices)}
        if index is not None:
            ident_cols = {"index": index, **ident_cols}
    elif space_name == "fbnet":
        if index_file is not None:
            raise ValueError("index_file applies to nasbench201 only")
        dataset = check_dataset(space_name, dataset or "cifar100")
        choices = fbnet_choices(archs, sample, seed)
        table = fbnet_space(choices, dataset, batch)
        ident_cols = {"op_idx_list": [list(map(int, ch)) for ch in choices]}
    else:
        if archs is not None or index_file is not None:
            raise ValueError("archs and index_file apply to 'nasbench201' / 'fbnet'; a list of LayerGraphs is "
                             "built as given (use sample= to draw from it)")
        graphs = list(space)
        if sample is not None:
            graphs = [graphs[i] for i in _sample_rows(len(graphs), sample, seed, replace=False)]
        table = GraphSpace(graphs)
        choices = np.array([])
        ident_cols = {"network": [g.name for g in table.graphs]}
        # a spec with per-space conventions costs each graph under its own space's: one sub-build per space
        spaces = [g.meta.get("space") for g in table.graphs]
        if any(spec.for_space(sp) is not spec for sp in set(spaces)):  # each for_space resolves a copy
            return _build_per_space(table.graphs, spaces, spec, dataset, objective=objective, workers=workers,
                                    scheduler=scheduler, budget=budget, batch=batch, dask_address=dask_address,
                                    checkpoint_dir=checkpoint_dir, progress=progress, network_chunk=network_chunk)
    objective = resolve_objective(mapper, config, objective)

    n = len(table)
    identity = {"space": space_name or "graphs", "dataset": dataset, "batch": batch, "spec": spec.name,
                "digest": spec.digest, "mapper": _module_digest(mapper), "budget": budget, "objective": objective,
                "chunk": network_chunk, "networks": hashlib.sha1(json.dumps(ident_cols, default=str).encode()).hexdigest()}
    ckpt = _Checkpoint(checkpoint_dir, identity)
    runner = _Runner(workers, scheduler, dask_address)
    bar = None
    try:
        from tqdm.auto import tqdm

        n_layer_chunks = -(-len(table.layers) // LAYER_CHUNK) if additive else 0
        n_net_chunks = -(-n // network_chunk)
        bar = tqdm(total=n_layer_chunks + n_net_chunks, disable=not progress, unit="chunk",
                   desc=f"{space_name or 'graphs'}/{dataset} on {spec.name}")
        macs_rows = np.array([l.macs for l in table.layers] + [0], dtype=np.float64)
        if additive:
            row_costs = _stage_layers(table, spec, budget, objective, runner, ckpt, bar)
        else:
            row_costs = None
            encoded = None
            if hasattr(mapper, "evaluate_sequences") and hasattr(mapper, "encode_layers"):
                encoded = np.asarray(mapper.encode_layers(table.layers), dtype=np.float64)
        columns: dict[str, np.ndarray] = {}
        tasks = []
        for k, start in enumerate(range(0, n, network_chunk)):
            stop = min(n, start + network_chunk)
            name = f"networks-{k:05d}"
            cached = ckpt.load(name)
            if cached is not None:
                _put(columns, cached, start, stop, n)
                bar.update(1)
                continue
            if additive:
                seq, lengths = table.sequences(start, stop)
                res = _additive_chunk(row_costs, macs_rows, seq)
                ckpt.save(name, res)
                _put(columns, res, start, stop, n)
                bar.update(1)
            elif encoded is not None:
                seq, lengths = table.sequences(start, stop)
                tasks.append(((k, start, stop), (spec, budget, objective, encoded, seq, lengths)))
            else:
                tasks.append(((k, start, stop), (spec, budget, objective, table.graph_source(start, stop))))
        fn = sequences_task if not additive and encoded is not None else graphs_task
        for (k, start, stop), res in runner.run(fn, tasks):
            if "macs" not in res:
                seq, _ = table.sequences(start, stop)
                res["macs"] = macs_rows[seq].sum(axis=1)
            ckpt.save(f"networks-{k:05d}", res)
            _put(columns, res, start, stop, n)
            bar.update(1)
    finally:
        runner.close()
        if bar is not None:
            bar.close()

    frame = pd.DataFrame(ident_cols)
    front = ["latency_ms", "energy_mj", "macs"]
    for col in front + [c for c in columns if c not in front]:
        frame[col] = columns[col]
    frame["macs"] = frame["macs"].round().astype(np.int64)
    frame.attrs.update({"space": space_name or "graphs", "dataset": dataset, "arch": spec.name,
                        "objective": objective, "batch": batch})
    lookup = fbnet_lookup_table(table, spec, budget, objective, row_costs) if want_lookup else None
    return frame, lookup, ckpt


class _Checkpoints:
    """Several builds' checkpoints, finished together."""

    def __init__(self, parts):
        self.parts = list(parts)

    def done(self) -> None:
        for part in self.parts:
            part.done()


def _build_per_space(graphs, spaces, spec, dataset, **kwargs):
    """Build `graphs` (no sampling) in one sub-build per workload space, each under ``spec.for_space``; the
    frame lists them in the given order with an ``objective`` column, and its attrs give each space's."""
    frames, ckpts, objectives = [], [], {}
    for space in sorted(set(spaces), key=str):
        rows = [i for i, sp in enumerate(spaces) if sp == space]
        frame, _, ckpt = _build_one([graphs[i] for i in rows], spec.for_space(space), dataset, **kwargs)
        objectives[str(space)] = frame.attrs["objective"]
        frames.append(frame.assign(objective=frame.attrs["objective"]).set_axis(rows))
        ckpts.append(ckpt)
    frame = pd.concat(frames).sort_index()
    frame.attrs.update(frames[0].attrs)
    frame.attrs["objective"] = objectives
    return frame, None, _Checkpoints(ckpts)


def _module_digest(module) -> str:
    """Hash of a mapper's source, so checkpoints of an edited mapper are not reused."""
    path = getattr(module, "__file__", None)
    if not path or not os.path.exists(path):
        return ""
    with open(path, "rb") as fh:
        return hashlib.sha1(fh.read()).hexdigest()[:16]


def _put(columns, res, start, stop, n):
    for key, values in res.items():
        if key not in columns:
            columns[key] = np.full(n, np.nan)
        columns[key][start:stop] = values


def _additive_chunk(row_costs: dict[str, np.ndarray], macs_rows: np.ndarray, seq: np.ndarray) -> dict[str, np.ndarray]:
    # Each row_costs vector has an extra zero at the end, so the -1 padding gathers zeros.
    out = {name: values[seq].sum(axis=1) for name, values in row_costs.items()}
    out["macs"] = macs_rows[seq].sum(axis=1)
    return out


def _stage_layers(table, spec, budget, objective, runner, ckpt, bar) -> dict[str, np.ndarray]:
    """Column -> per-unique-layer values (latency_ms, energy_mj, ...), each with a trailing 0 for padding."""
    prefix = (spec.digest, json.dumps(budget or {}, sort_keys=True, default=str), objective)
    n = len(table.layers)
    rows: list[dict | None] = [None] * n
    tasks = []
    for k, start in enumerate(range(0, n, LAYER_CHUNK)):
        layers = table.layers[start:start + LAYER_CHUNK]
        name = f"layers-{k:05d}"
        cached = ckpt.load(name)
        if cached is None and all(prefix + (l.signature,) in _ROW_CACHE for l in layers):
            cached = [_ROW_CACHE[prefix + (l.signature,)] for l in layers]  # costed before in this process
            ckpt.save(name, cached)
        if cached is not None:
            rows[start:start + len(layers)] = cached
            bar.update(1)
        else:
            tasks.append(((k, start, len(layers)), (spec, budget, objective, layers)))
    for (k, start, count), res in runner.run(map_rows_task, tasks):
        ckpt.save(f"layers-{k:05d}", res)
        rows[start:start + count] = res
        for layer, costs in zip(table.layers[start:start + count], res):
            _ROW_CACHE[prefix + (layer.signature,)] = costs
        bar.update(1)
    names = list(dict.fromkeys(key for row in rows for key in row))
    # A level a layer does not touch costs it nothing there.
    return {name: np.array([row.get(name, 0.0) for row in rows] + [0.0]) for name in names}


def fbnet_lookup_table(table: SlotSpace, spec, budget, objective, row_costs=None) -> dict[str, dict[str, float]]:
    """HW-NAS-Bench's per-block lookup tables ({"latency": {key: ms}, "energy": {key: mJ}}) for one FBNet
    data set. Additive mappers: each block's layer costs summed (so the tables reproduce the built networks
    exactly). Non-additive mappers: each block evaluated alone through the batch interface, which is how
    HW-NAS-Bench measured its per-block FPGA tables; a whole network is then not the sum of its blocks.
    """
    mapper, config = _configured(spec, budget)
    units: dict[str, list[int]] = {}
    for r, key in table.fixed_keys.items():
        units.setdefault(key, [r])
    for p, per_choice in enumerate(table.slot_rows):
        for b, rows in enumerate(per_choice):
            key = table.slot_keys[p][b]
            if key in units and units[key] != list(rows):
                raise AssertionError(f"FBNet block key {key} maps to different layers at two positions")
            units[key] = list(rows)
    keys = list(units)
    if row_costs is not None:
        lat = {k: float(row_costs["latency_ms"][units[k]].sum()) for k in keys}
        en = {k: float(row_costs["energy_mj"][units[k]].sum()) for k in keys}
        return {"latency": lat, "energy": en}
    if not hasattr(mapper, "evaluate_sequences"):
        raise NotImplementedError(
            f"arch {spec.name!r}: per-block lookup tables of a non-additive mapper need its batch interface "
            "(encode_layers / evaluate_sequences)")
    encoded = np.asarray(mapper.encode_layers(table.layers), dtype=np.float64)
    width = max(len(units[k]) for k in keys)
    seq = np.full((len(keys), width), -1, dtype=np.int64)
    for i, k in enumerate(keys):
        seq[i, :len(units[k])] = units[k]
    lengths = np.array([len(units[k]) for k in keys], dtype=np.int64)
    res = mapper.evaluate_sequences(encoded, seq, lengths, config, objective)
    return {"latency": dict(zip(keys, map(float, res["latency_ms"]))),
            "energy": dict(zip(keys, map(float, res["energy_mj"])))}
