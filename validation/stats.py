"""Agreement statistics between predictions and a reference: rank correlations, errors, worst cases."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Agreement:
    n: int
    kendall_tau: float       # tau-b (ties corrected)
    spearman: float
    pearson: float
    mape: float              # mean |pred - ref| / ref, as a fraction
    median_ape: float
    max_ape: float
    bias: float              # median of pred / ref - 1: a constant scale error shows here, not in the ranks

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _arrays(predicted, reference) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(predicted, dtype=float)
    r = np.asarray(reference, dtype=float)
    if p.shape != r.shape or p.ndim != 1:
        raise ValueError(f"predicted and reference must be 1-D of one length; got shapes {p.shape} and {r.shape}")
    if len(p) < 3:
        raise ValueError(f"need at least 3 pairs for correlations, got {len(p)}")
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(r))):
        raise ValueError("predicted and reference must be finite (found NaN or inf)")
    if np.any(r <= 0):
        raise ValueError("reference values must be > 0 for percentage errors")
    return p, r


def agreement(predicted, reference, rank_resolution: float | None = None) -> Agreement:
    """Kendall tau-b, Spearman and Pearson (scipy), MAPE, median and max APE, median ratio bias.

    `rank_resolution`: round both series to this step before the rank correlations, Kendall's and Spearman's (e.g.
    1e-6 ms = 1 ns, as HW-NAS-Bench's values hold exact ties that a model's floating-point sums break by rounding
    noise, differently for each summation order); Pearson and the errors stay unrounded.
    """
    from scipy import stats

    p, r = _arrays(predicted, reference)
    ape = np.abs(p - r) / r
    if rank_resolution is not None:
        if not rank_resolution > 0:
            raise ValueError(f"rank_resolution must be > 0, got {rank_resolution!r}")
        p_rank, r_rank = np.round(p / rank_resolution), np.round(r / rank_resolution)
    else:
        p_rank, r_rank = p, r
    return Agreement(
        n=len(p),
        kendall_tau=float(stats.kendalltau(p_rank, r_rank, variant="b").statistic),
        spearman=float(stats.spearmanr(p_rank, r_rank).statistic),
        pearson=float(stats.pearsonr(p, r).statistic),
        mape=float(ape.mean()),
        median_ape=float(np.median(ape)),
        max_ape=float(ape.max()),
        bias=float(np.median(p / r) - 1.0),
    )


def worst_cases(frame: pd.DataFrame, predicted: str, reference: str, k: int = 10) -> pd.DataFrame:
    """The k rows with the largest absolute percentage error, with the error column `ape` added."""
    p, r = _arrays(frame[predicted], frame[reference])
    out = frame.assign(ape=np.abs(p - r) / r, ratio=p / r)
    return out.sort_values("ape", ascending=False).head(k)
