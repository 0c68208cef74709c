"""Checks shared by the competing-risks estimators: times, event codes and the cause of interest."""

from __future__ import annotations

import numpy as np

from awaken.survival._validate import SurvivalDataError, event_codes, numeric_column, require_columns

__all__ = ["competing_data", "cause_status"]


def competing_data(df, time, event, cause, covariates=()):
    """Times (>= 0) and event codes (0 censored, 1, 2, ... causes) of ``df``, refusing an absent cause."""
    require_columns(df, [time, event, *covariates])
    times = numeric_column(df, time, minimum=0.0)
    codes = event_codes(df, event, binary=False)
    if isinstance(cause, bool) or not isinstance(cause, (int, np.integer)) or cause < 1:
        raise SurvivalDataError(f"cause must be a positive event code (1, 2, ...), got {cause!r}")
    if not np.any(codes == cause):
        raise SurvivalDataError(f"no row of {event!r} has the cause {cause}; codes present: "
                                f"{sorted(int(c) for c in set(codes))}")
    return times, codes


def cause_status(codes: np.ndarray, cause: int) -> np.ndarray:
    """cmprsk's coding: 1 the cause of interest, 2 any other cause, 0 censored."""
    return np.where(codes == cause, 1, np.where(codes > 0, 2, 0)).astype(np.int64)
