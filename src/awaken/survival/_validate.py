"""Checks on survival data, made before any fitting, that name the offending rows and the rule."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["SurvivalDataError", "require_columns", "numeric_column", "check_intervals", "event_codes", "group_codes"]

_SHOWN_ROWS = 5


class SurvivalDataError(ValueError):
    """Malformed survival data: the message names the column or rows and the rule broken."""


def _rows(frame: pd.DataFrame, mask: np.ndarray) -> str:
    labels = list(frame.index[mask][:_SHOWN_ROWS])
    more = int(mask.sum()) - len(labels)
    text = ", ".join(str(label) for label in labels)
    return f"rows {text}" + (f" and {more} more" if more > 0 else "")


def require_columns(frame: pd.DataFrame, columns: Sequence[str | None]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise SurvivalDataError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c is not None and c not in frame.columns]
    if missing:
        raise SurvivalDataError(f"missing column(s) {missing}; the data has {list(frame.columns)}")
    if len(frame) == 0:
        raise SurvivalDataError("the data has no rows")


def numeric_column(frame: pd.DataFrame, column: str, *, minimum: float | None = None,
                   strictly: bool = False, finite: bool = True) -> np.ndarray:
    """``frame[column]`` as float64, refusing non-numeric, missing and out-of-range values."""
    series = frame[column]
    if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
        raise SurvivalDataError(f"column {column!r} must be numeric, it has dtype {series.dtype}")
    values = series.to_numpy(dtype=float, na_value=np.nan)
    bad = np.isnan(values) | (~np.isfinite(values) if finite else False)
    if bad.any():
        raise SurvivalDataError(f"column {column!r} has missing or infinite values at {_rows(frame, bad)}")
    if minimum is not None:
        below = values <= minimum if strictly else values < minimum
        if below.any():
            rule = ">" if strictly else ">="
            raise SurvivalDataError(
                f"column {column!r} must be {rule} {minimum:g}; it is not at {_rows(frame, below)}"
            )
    return values


def check_intervals(frame: pd.DataFrame, start: np.ndarray, stop: np.ndarray, start_name: str,
                    stop_name: str) -> None:
    bad = stop <= start
    if bad.any():
        raise SurvivalDataError(
            f"each interval needs {stop_name} > {start_name} (the interval is ({start_name}, {stop_name}]); "
            f"broken at {_rows(frame, bad)}"
        )


def check_no_overlap(frame: pd.DataFrame, id_column: str, start: np.ndarray, stop: np.ndarray, start_name: str,
                     stop_name: str) -> None:
    """The ``(start, stop]`` intervals of one subject (``id_column``) must not overlap."""
    missing = frame[id_column].isna().to_numpy()
    if missing.any():
        raise SurvivalDataError(f"column {id_column!r} has missing values at {_rows(frame, missing)}")
    ids = pd.factorize(frame[id_column])[0]
    order = np.lexsort((start, ids))
    same = ids[order][1:] == ids[order][:-1]
    overlapping = same & (start[order][1:] < stop[order][:-1])
    if overlapping.any():
        bad = np.zeros(len(frame), dtype=bool)
        bad[order[1:][overlapping]] = True
        raise SurvivalDataError(
            f"intervals of the same {id_column} overlap (a subject cannot be at risk twice at once: each "
            f"{start_name} must be >= the previous {stop_name}); broken at {_rows(frame, bad)}")


def event_codes(frame: pd.DataFrame, column: str, *, binary: bool) -> np.ndarray:
    """Event column as int64: 0 censored, 1, 2, ... causes (only 0/1 when ``binary``)."""
    values = numeric_column(frame, column)
    codes = values.astype(np.int64)
    bad = (codes != values) | (codes < 0)
    if binary:
        bad |= codes > 1
    if bad.any():
        allowed = "0 (censored) or 1 (event)" if binary else "0 (censored) or a cause 1, 2, ..."
        raise SurvivalDataError(f"column {column!r} must be {allowed}; it is not at {_rows(frame, bad)}")
    return codes


def group_codes(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, pd.Index]:
    """Integer codes 0..k-1 of a grouping column (sorted), refusing missing values."""
    missing = frame[column].isna().to_numpy()
    if missing.any():
        raise SurvivalDataError(f"column {column!r} has missing values at {_rows(frame, missing)}")
    codes, uniques = pd.factorize(frame[column], sort=True)
    return codes.astype(np.int64), uniques
