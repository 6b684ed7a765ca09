"""Seeded draws of networks: which rows of a list, or uniformly random choice matrices."""

from __future__ import annotations

import numpy as np


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_seed(seed) -> int:
    """`seed` as an int >= 0 (what numpy's generators take), else a ValueError naming it."""
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


def check_sample(sample) -> int | None:
    """`sample` (how many networks to draw) as a positive int, or None for no sampling."""
    if sample is None:
        return None
    if not _is_int(sample) or sample <= 0:
        raise ValueError(f"sample must be a positive int, got {sample!r}")
    return int(sample)


def sample_rows(n: int, sample: int, seed: int) -> np.ndarray:
    """`sample` distinct row numbers of ``0..n-1``, drawn with `seed`, in increasing order."""
    sample, seed = check_sample(sample), check_seed(seed)
    if sample > n:
        raise ValueError(f"sample {sample} is larger than the {n} networks to draw from")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=sample, replace=False))


def uniform_choices(sample: int, variables: int, options: int, seed: int) -> np.ndarray:
    """A (sample x variables) matrix of independent uniform choices ``0..options-1`` drawn with `seed`."""
    sample, seed = check_sample(sample), check_seed(seed)
    rng = np.random.default_rng(seed)
    return rng.integers(0, options, size=(sample, variables), dtype=np.int64)
