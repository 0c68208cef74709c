"""R's ``survival::finegray``: competing-risks data expanded for a weighted Cox fit of the
subdistribution hazard (Geskus 2011), with case weights and strata.

Each subject who failed from another cause is kept at risk past that failure, over the censoring
intervals that hold a failure of the cause, with a weight that decreases as the Kaplan-Meier of
censoring (``fgwt``); ``CoxPH`` on the expanded rows (``weights = fgwt``, a cluster per subject)
is the Fine-Gray model as R's ``coxph`` fits it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from awaken.survival._competing import competing_data
from awaken.survival._validate import SurvivalDataError, case_weights, combination_codes, require_columns
from awaken.survival.timefix import timefix as merge_round_off

__all__ = ["finegray", "expand"]


def finegray(df: pd.DataFrame, time: str, event: str, cause: int = 1, weights: str | None = None,
             strata: str | Sequence[str] | None = None, prefix: str = "fg", count: str | None = None,
             timefix: bool = True) -> pd.DataFrame:
    """The counting-process data of a Fine-Gray model, as R's ``survival::finegray``.

    Every row of ``df`` is kept with ``(fgstart, fgstop] = (0, time]`` (``(-1, time]`` when a time is
    0), ``fgstatus`` 1 for a failure of ``cause`` and 0 otherwise, ``fgwt`` 1. A failure from another
    cause is extended: its row to the end of its censoring interval, then one row per later interval
    between consecutive censoring times that holds a failure of the cause, with ``fgwt = G(start) /
    G(time-)``, ``G`` the Kaplan-Meier of censoring (unweighted, a failure at a time leaving before the
    censorings at it, by stratum). Case ``weights`` multiply ``fgwt``; a stratum without a failure of
    the cause is dropped (as R). Times that differ only by round-off are merged first (``timefix``,
    as R). The result has ``df``'s columns and index (a label repeated for each row it expands to),
    then ``fgstart``, ``fgstop``, ``fgstatus``, ``fgwt`` (names from ``prefix``) and, with ``count``,
    a column numbering the added rows of each subject (0 for the original). Fit it with
    ``CoxPH().fit(rows, start="fgstart", stop="fgstop", event="fgstatus", weights="fgwt",
    cluster=<subject id>, ...)``, as ``coxph(Surv(fgstart, fgstop, fgstatus) ~ ..., weights = fgwt,
    cluster = id)`` (FineGray(...).fit(weights=, strata=) does this for you).

    R's ``finegray`` misplaces ``weights`` when it also has ``strata`` (the weight of the k-th row of
    the data goes to the k-th row of each stratum); awaken gives each row its own weight, which equals
    R's ``finegray`` without weights followed by ``coxph(weights = fgwt * w)``.

    Example
    -------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"t": [1, 2, 3, 4], "e": [2, 1, 0, 1]})
    >>> rows = finegray(data, time="t", event="e", cause=1)
    >>> rows[["fgstart", "fgstop", "fgstatus", "fgwt"]].values.tolist()
    [[0.0, 3.0, 0.0, 1.0], [3.0, 4.0, 0.0, 0.5], [0.0, 2.0, 1.0, 1.0], [0.0, 3.0, 0.0, 1.0], [0.0, 4.0, 1.0, 1.0]]
    """
    strata_columns = [strata] if isinstance(strata, str) else list(strata or [])
    require_columns(df, [time, event, weights, *strata_columns])
    times, codes = competing_data(df, time, event, cause)
    weight = case_weights(df, weights, strictly=True)
    names = [f"{prefix}start", f"{prefix}stop", f"{prefix}status", f"{prefix}wt"] + ([count] if count else [])
    clash = [name for name in names if name in df.columns]
    if clash:
        raise SurvivalDataError(f"the data already has column(s) {clash}; pass another prefix= (or count=)")
    if timefix:
        times = merge_round_off(times)[0]
    rows, start, stop, status, fg_weight, added = expand(times, codes, cause, combination_codes(df, strata_columns)[0],
                                                          with_count=True)
    out = df.iloc[rows].copy()
    out[names[0]] = start
    out[names[1]] = stop
    out[names[2]] = status
    out[names[3]] = fg_weight * weight[rows]
    if count:
        out[count] = added
    return out


def expand(times, codes, cause, stratum, with_count=False):
    """R's ``finegray`` row expansion (its C routine ``Cfinegray``), stratum by stratum in stratum order."""
    zero = 0.0 if times.min() > 0 else 2 * times.min() - 1.0
    pieces = []
    for s in np.unique(stratum):
        rows = np.flatnonzero(stratum == s)
        t, c = times[rows], codes[rows]
        event_times = np.unique(t[c == cause])
        if event_times.size == 0:
            continue  # as R: a stratum without a failure of the cause contributes no rows
        # Kaplan-Meier of censoring, a failure at u leaving before the censorings at u (R: event
        # times moved 0.2 of a rank earlier)
        censored_times = np.sort(t[c == 0])
        cut_times = np.unique(censored_times)
        later = len(t) - np.searchsorted(np.sort(t), cut_times, side="right")
        censored_here = np.searchsorted(censored_times, cut_times, side="right") - \
            np.searchsorted(censored_times, cut_times, side="left")
        at_risk = later + censored_here
        cut_prob = np.cumprod(1.0 - censored_here / at_risk)
        ct2 = np.append(cut_times, t.max())
        cp2 = np.concatenate([[1.0], cut_prob])
        keep = np.zeros(len(ct2), dtype=bool)
        keep[np.searchsorted(ct2, event_times, side="left")] = True   # (ct2[j-1], ct2[j]] holds a failure
        keep[0] = False   # only intervals after a subject's own one (j >= 1) are ever added
        kept = np.flatnonzero(keep)
        extend = (c != 0) & (c != cause)
        own = np.searchsorted(ct2, t, side="left")             # the interval each time falls in
        first = np.searchsorted(kept, own, side="right")        # the first kept interval after it
        repeats = 1 + np.where(extend, len(kept) - first, 0)
        position = np.repeat(np.arange(len(rows)), repeats)
        offset = np.arange(position.size) - np.repeat(np.cumsum(repeats) - repeats, repeats)
        is_added = offset > 0
        interval = kept[np.clip(first[position] + offset - 1, 0, None)] if len(kept) else np.zeros_like(offset)
        start = np.where(is_added, ct2[np.maximum(interval - 1, 0)], zero)
        # an extended subject's own row runs to the end of its interval, with weight 1
        stop = np.where(is_added, ct2[interval], np.where(extend, ct2[own], t)[position])
        weight = np.where(is_added, cp2[interval] / cp2[own][position], 1.0)
        status = np.where(is_added, False, c[position] == cause).astype(np.int64)
        pieces.append((rows[position], start, stop, status, weight, offset))
    if not pieces:
        empty = np.zeros(0)
        out = (np.zeros(0, dtype=np.int64), empty, empty, np.zeros(0, dtype=np.int64), empty, np.zeros(0, np.int64))
    else:
        out = tuple(np.concatenate(parts) for parts in zip(*pieces, strict=True))
    return out if with_count else out[:5]
