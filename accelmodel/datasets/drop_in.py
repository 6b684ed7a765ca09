"""`build_hwnasbench`: one file in HW-NAS-Bench-v1_0's layout that HW-NAS-Bench's own API reads unchanged.

Both spaces, every data set of the original, every metric key of the original: ``eyeriss_*`` from the
``eyeriss-hwnasbench`` spec, ``fpga_*`` from ``fpga-zc706``, ``eyeriss_arithmetic_intensity`` as MACs per DRAM
byte of the chosen mappings (`accelmodel.hwnasbench.ARITHMETIC_INTENSITY`), and the devices HW-NAS-Bench
measured on hardware (edgegpu, raspi4, edgetpu, pixel3) as NaN, or copied from an original file (`merge`).
"""

from __future__ import annotations

import os
import pickle

from ..specs import load_spec
from .builds import NETWORK_CHUNK, Options, plan_jobs, run_job
from .runners import Runner
from .spaces import get_space
from .spaces.fbnet import every_block
from .storage import (OutputExistsError, atomic_write_bytes, check_checkpoint_root, check_writable, exclusive,
                      output_format)

#: HW-NAS-Bench device -> the spec that models it.
MODELLED = {"eyeriss": "eyeriss-hwnasbench", "fpga": "fpga-zc706"}


def _modelled_keys(metrics) -> list[str]:
    return [m for m in metrics if m.split("_", 1)[0] in MODELLED]


def _measured_keys(metrics) -> list[str]:
    return [m for m in metrics if m.split("_", 1)[0] not in MODELLED]


def build_hwnasbench(out, *, merge=None, archs=None, workers=None, scheduler=None, dask_address=None,
                     checkpoint_dir=None, progress: bool = False, overwrite: bool = False) -> dict:
    """Write HW-NAS-Bench-v1_0's layout to `out` (a ``.pickle``/``.pkl``) and return the written dict.

    - NAS-Bench-201: cifar10, cifar100 and ImageNet16-120, every network keyed by its NAS-Bench-201 index
      (generated, `nasbench201_index_order`), with ``config``; `archs` (indices or arch strings) restricts the
      networks (then keyed by index in dicts instead of lists).
    - FBNet: the cifar100 and ImageNet lookup tables (every block key of both data sets).
    - Metrics: every key of the original's metric lists. ``eyeriss_latency`` / ``eyeriss_energy`` /
      ``eyeriss_arithmetic_intensity`` (MACs per DRAM byte of the chosen mappings) from ``eyeriss-hwnasbench``,
      ``fpga_latency`` / ``fpga_energy`` from ``fpga-zc706``; the measured devices (edgegpu, raspi4, edgetpu,
      pixel3) NaN, or, with `merge` = the path of HW-NAS-Bench's original file, copied from it: the result is
      the original with only the modelled keys replaced (its NAS-Bench-201 order must be the generated one).
    - Only built-in Python types inside: the file opens with any numpy.
    - An existing `out` is added to (refused if it holds other networks or values another spec or HW-NAS-Bench
      wrote under the modelled keys); with `merge`, an existing `out` other than the merge file itself is
      refused. `overwrite=True` replaces it. Workers, scheduler and checkpoints as in `build`.
    """
    from .. import hwnasbench

    out = check_writable(out)
    if output_format(out) != "pickle":
        raise ValueError(f"out {out!r}: the HW-NAS-Bench layout is a pickle; use a .pickle or .pkl name")
    checkpoint_dir = check_checkpoint_root(checkpoint_dir if checkpoint_dir is not None else out + ".partial")
    base = None
    if merge is not None:
        base = hwnasbench.load(os.fspath(merge))
        for space in hwnasbench.SPACES:
            if not isinstance(base.get(space), dict):
                raise ValueError(f"merge file {os.fspath(merge)!r}: no {space!r} table (not HW-NAS-Bench's layout)")
        base = hwnasbench.to_builtin(base)
        _drop_modelled(base)
    options = Options.check(archs=archs, sample=None, seed=0, index_file=None, objective=None, budget=None,
                             batch=1, network_chunk=NETWORK_CHUNK, progress=progress)
    specs = [load_spec(MODELLED[dev]) for dev in MODELLED]
    nb201, fbnet = get_space("nasbench201"), get_space("fbnet")
    jobs = plan_jobs("nasbench201", nb201, specs, list(hwnasbench.NB201_DATASETS), options)
    fb_options = Options.check(**{**options.__dict__, "archs": every_block()})
    fb_jobs = plan_jobs("fbnet", fbnet, specs, ["cifar100", "imagenet"], fb_options)
    runner = Runner(workers, scheduler, dask_address)
    with exclusive(out):
        data = _starting_point(out, merge, base, overwrite)
        try:
            # FBNet: only the lookup tables are written (no networks of their own), so only their keys count
            hwnasbench.check_can_add(data, [(j.space.name, j.dataset, j.spec.name, j.columns) for j in jobs]
                                     + [("fbnet", j.dataset, j.spec.name, {}) for j in fb_jobs])
        except hwnasbench.LayoutConflictError as exc:
            raise OutputExistsError(f"out {out!r}: {exc}; pass overwrite=True (--overwrite) to replace the file") from None
        try:
            results = [run_job(j, runner, checkpoint_dir, options, False) for j in jobs]
            fb_results = [run_job(j, runner, checkpoint_dir, fb_options, True) for j in fb_jobs]
        finally:
            runner.close()
        builds = [("nasbench201", f.attrs["dataset"], f.attrs["arch"], f, None) for f, _, _ in results]
        data = hwnasbench.to_hwnasbench(builds, data)
        fb = data.setdefault("fbnet", {})
        for frame, lookup, _ in fb_results:  # the lookup tables only: no network of their own
            dev = hwnasbench.device_name(frame.attrs["arch"])
            for metric in ("latency", "energy"):
                fb.setdefault(f"{dev}_{metric}", {}).update(lookup[metric])
        data[hwnasbench.PROVENANCE]["writers"].update({dev: spec for dev, spec in MODELLED.items()})
        _fill_measured(data)
        atomic_write_bytes(out, pickle.dumps(data, protocol=4))
        for _, _, ckpt in results + fb_results:
            ckpt.done()
    return data


def _drop_modelled(data: dict) -> None:
    """Remove the keys this build writes from an original file's dict (they are replaced, the rest kept)."""
    from .. import hwnasbench

    for per in data["nasbench201"].values():
        if isinstance(per, dict):
            for key in _modelled_keys(list(per)):
                del per[key]
    for key in _modelled_keys([k for k in data["fbnet"] if k not in hwnasbench.EXTRA_KEYS]):
        del data["fbnet"][key]


def _starting_point(out: str, merge, base, overwrite: bool) -> dict:
    from .. import hwnasbench

    exists = os.path.exists(out)
    if base is not None:
        if exists and not overwrite and not os.path.samefile(out, merge):
            raise OutputExistsError(f"out {out!r} exists; with merge the file is HW-NAS-Bench's original plus "
                                    "accelmodel's keys: write it to a new file, or pass overwrite=True (--overwrite)")
        return base
    if exists and not overwrite:
        return hwnasbench.load(out)
    return {}


def _fill_measured(data: dict) -> None:
    """NaN for every metric of the original that no model writes and the file does not hold yet."""
    from .. import hwnasbench

    nan = float("nan")
    for per in data["nasbench201"].values():
        if not isinstance(per, dict) or "config" not in per:
            continue
        keys = list(per["config"]) if isinstance(per["config"], dict) else None
        for metric in _measured_keys(hwnasbench.NB201_METRICS):
            if metric not in per:
                per[metric] = {k: nan for k in keys} if keys is not None else [nan] * len(per["config"])
    fb = data["fbnet"]
    block_keys = sorted({k for m in _modelled_keys(hwnasbench.FBNET_METRICS) for k in fb.get(m, {})})
    for metric in _measured_keys(hwnasbench.FBNET_METRICS):
        if metric not in fb:
            fb[metric] = {k: nan for k in block_keys}
