"""Times that differ only by round-off made equal, as R's ``aeqSurv`` does before every fit.

Times computed two ways - days / 365.25 against a sum of pieces, an age time scale, 0.1 + 0.2
against 0.3 - differ in the last bits; R's ``survival`` (``timefix = TRUE``, the default of
``coxph`` and ``survfit``) treats them as ties, and so does awaken by default.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from awaken.survival._validate import SurvivalDataError

__all__ = ["timefix", "timefix_or_refuse", "TIMEFIX_TOLERANCE"]

#: R's aeqSurv tolerance: times closer than this (absolutely, or relative to the mean |time|) are one.
TIMEFIX_TOLERANCE = np.finfo(float).eps ** 0.5


def timefix(*columns: np.ndarray, tolerance: float = TIMEFIX_TOLERANCE) -> tuple[np.ndarray, ...]:
    """Times that differ only by round-off made equal, as R's ``aeqSurv`` (``coxph(timefix = TRUE)``).

    All time columns are pooled; distinct values closer than ``tolerance`` (absolutely, or relative
    to the mean absolute time) are replaced by the smallest of their run, so that 0.1 + 0.2 and 0.3,
    or days/365.25 computed two ways, tie as they should.

    >>> [float(v) for v in timefix(np.array([0.3, 0.1 + 0.2, 1.0]))[0]]
    [0.3, 0.3, 1.0]
    """
    pooled = np.concatenate([np.ravel(c) for c in columns])
    values = np.unique(pooled[np.isfinite(pooled)])
    if values.size < 2:
        return columns
    gaps = np.diff(values)
    tied = (gaps <= tolerance) | (gaps / np.mean(np.abs(values)) <= tolerance)
    if not tied.any():
        return columns
    cuts = values[np.concatenate([[True], ~tied])]
    return tuple(np.where(np.isfinite(c), cuts[np.clip(np.searchsorted(cuts, c, side="right") - 1, 0, None)], c)
                 for c in columns)


def timefix_or_refuse(df: pd.DataFrame, *columns: np.ndarray, names: tuple[str, str] | None = None):
    """:func:`timefix` on the time columns of ``df``; for ``(start, stop]`` columns (``names``), refuse
    intervals it would collapse to nothing."""
    fixed = timefix(*columns)
    if names is not None:
        start, stop = fixed
        collapsed = (start >= stop) & (columns[0] < columns[1])
        if collapsed.any():
            rows = list(df.index[collapsed][:5])
            raise SurvivalDataError(f"intervals ({names[0]}, {names[1]}] at rows {rows} are shorter than round-off "
                                    f"(times within {TIMEFIX_TOLERANCE:.1e} are one, as R's timefix); lengthen them "
                                    f"or pass timefix=False")
    return fixed
