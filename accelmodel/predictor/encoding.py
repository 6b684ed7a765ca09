"""Networks of a search space as one-hot rows over its choice variables (what a predictor reads).

A space of the dataset builder is a template whose variables each take one of a few choices (a NAS-Bench-201
cell edge: 5 ops; an FBNet position: 9 blocks; a DARTS candidate edge: absent or one of 8 ops). A network is
its row of choices; the predictor's input is that row one-hot, variable after variable (NB201 6 x 5 = 30
columns, FBNet 22 x 9 = 198, DARTS 28 x 9 = 252). The variables and their choice counts come from the space's
layer table (`SearchSpace.layer_table`), so a registered space with an ``arch_column`` needs nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..datasets.spaces import SearchSpace, get_space


@dataclass(frozen=True)
class Encoding:
    """One space and data set: how many choices each variable has, and the networks <-> one-hot rows."""

    space: str
    dataset: str
    n_choices: tuple[int, ...]

    @classmethod
    def of(cls, space, dataset=None) -> "Encoding":
        sp = _space(space)
        dataset = sp.check_dataset(dataset)
        table = sp.layer_table(sp.select(None, 1, 0, None, dataset).choices, dataset, 1)   # variables only
        counts: dict[int, int] = {}
        for slot, var in enumerate(table.slot_var.tolist()):
            n = len(table.slot_rows[slot])
            if counts.setdefault(var, n) != n:
                raise AssertionError(f"{sp.name}: slots of variable {var} have different choice counts")
        if sorted(counts) != list(range(len(counts))):
            raise AssertionError(f"{sp.name}: layer-table variables are not numbered 0..{len(counts) - 1}")
        return cls(sp.name, dataset, tuple(counts[v] for v in range(len(counts))))

    @property
    def n_variables(self) -> int:
        return len(self.n_choices)

    @property
    def offsets(self) -> np.ndarray:
        """First one-hot column of each variable (and the total width last)."""
        return np.concatenate([[0], np.cumsum(self.n_choices)]).astype(np.int64)

    @property
    def width(self) -> int:
        return int(sum(self.n_choices))

    def choices_of_archs(self, archs) -> np.ndarray:
        """(networks x variables) choice matrix of `archs`, spelled as `datasets.build` takes them."""
        sp = get_space(self.space)
        selection = sp.select(archs, None, 0, None, self.dataset)
        return self.check_choices(sp.choice_matrix(selection.choices))

    def choices_of_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """Choice matrix of the networks of a `datasets.build` frame (from its identifying column)."""
        sp = get_space(self.space)
        column = sp.arch_column
        if column not in frame:
            raise ValueError(f"frame has no {column!r} column, which identifies {self.space} networks "
                             f"(columns: {list(frame.columns)})")
        values = frame[column]
        archs = values.to_numpy(dtype=np.int64) if values.dtype.kind in "iu" else [_plain(v) for v in values]
        return self.choices_of_archs(archs)

    def check_choices(self, choices) -> np.ndarray:
        choices = np.asarray(choices, dtype=np.int64)
        if choices.ndim != 2 or choices.shape[1] != self.n_variables:
            raise ValueError(f"{self.space}: choice matrix must be (networks x {self.n_variables}), got shape "
                             f"{choices.shape}")
        bad = (choices < 0) | (choices >= np.asarray(self.n_choices)[None, :])
        if bad.any():
            i, v = map(int, np.argwhere(bad)[0])
            raise ValueError(f"{self.space}: network {i} takes choice {int(choices[i, v])} at variable {v}, "
                             f"allowed 0..{self.n_choices[v] - 1}")
        return choices

    def one_hot(self, choices: np.ndarray, dtype=np.float64) -> np.ndarray:
        """(networks x width) one-hot rows of a choice matrix."""
        choices = self.check_choices(choices)
        out = np.zeros((len(choices), self.width), dtype=dtype)
        cols = choices + self.offsets[None, :-1]
        out[np.arange(len(choices))[:, None], cols] = 1.0
        return out


def _space(space) -> SearchSpace:
    sp = space if isinstance(space, SearchSpace) else get_space(space)
    if not isinstance(getattr(sp, "arch_column", None), str):
        raise ValueError(f"space {sp.name!r} names no arch_column (the build column that identifies its "
                         "networks), so a predictor cannot read its frames")
    return sp


def _plain(value):
    """A frame cell as `select` takes it: parquet returns list columns as numpy arrays."""
    return value.tolist() if isinstance(value, np.ndarray) else value
