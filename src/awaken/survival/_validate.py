"""Checks on survival data, made before any fitting, that name the offending rows and the rule."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

__all__ = ["SurvivalDataError", "UninformativeCovariates", "ConvergenceWarning", "require_columns", "check_names",
           "case_weights", "combination_codes", "numeric_column", "check_intervals", "event_codes", "group_codes"]

_SHOWN_ROWS = 5


class SurvivalDataError(ValueError):
    """Malformed survival data: the message names the column or rows and the rule broken."""


class UninformativeCovariates(SurvivalDataError):
    """Covariates the data carry no information on (R reports NA for them); ``covariates`` names them."""

    def __init__(self, message: str, covariates: list[str]):
        super().__init__(message)
        self.covariates = list(covariates)


class ConvergenceWarning(UserWarning):
    """A fit did not converge to finite values; the message names the covariates and why."""


def _rows(frame: pd.DataFrame, mask: np.ndarray) -> str:
    labels = list(frame.index[mask][:_SHOWN_ROWS])
    more = int(mask.sum()) - len(labels)
    text = ", ".join(str(label) for label in labels)
    return f"rows {text}" + (f" and {more} more" if more > 0 else "")


def require_columns(frame: pd.DataFrame, columns: Sequence[str | None]) -> None:
    """``frame`` is a non-empty DataFrame holding each of ``columns`` (``None`` entries: options not used)
    exactly once - refusing what pandas would answer with a bare ``KeyError``/``TypeError``."""
    if not isinstance(frame, pd.DataFrame):
        raise SurvivalDataError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    for name in columns:
        if name is not None and not isinstance(name, Hashable):
            raise SurvivalDataError(f"a column name must be a string, got {type(name).__name__} {name!r}")
    missing = [c for c in columns if c is not None and c not in frame.columns]
    if missing:
        raise SurvivalDataError(f"missing column(s) {missing}; the data has {list(frame.columns)}")
    twice = list(dict.fromkeys(c for c in columns if c is not None and int((frame.columns == c).sum()) > 1))
    if twice:
        raise SurvivalDataError(f"the data has more than one column named {', '.join(map(repr, twice))}")
    if len(frame) == 0:
        raise SurvivalDataError("the data has no rows")


def check_names(frame: pd.DataFrame, **columns: str | None) -> None:
    """:func:`require_columns`, the arguments named (``time=``, ``weights=``...) when one is not a name."""
    for argument, name in columns.items():
        if name is not None and not isinstance(name, Hashable):
            raise SurvivalDataError(f"{argument}= must be a column name, got {type(name).__name__}")
    require_columns(frame, list(columns.values()))


def numeric_column(frame: pd.DataFrame, column: str, *, minimum: float | None = None,
                   strictly: bool = False, finite: bool = True) -> np.ndarray:
    """``frame[column]`` as float64, refusing non-numeric, missing and out-of-range values."""
    series = frame[column]
    if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
        raise SurvivalDataError(f"column {column!r} must be numeric, it has dtype {series.dtype}")
    if pd.api.types.is_complex_dtype(series):  # numpy would drop the imaginary part
        raise SurvivalDataError(f"column {column!r} must be real numbers, it has dtype {series.dtype}")
    with np.errstate(all="ignore"):
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
    with np.errstate(all="ignore"):  # a huge float cast to int64 is refused below, not warned about
        codes = values.astype(np.int64)
    bad = (codes != values) | (codes < 0)
    if binary:
        bad |= codes > 1
    if bad.any():
        allowed = "0 (censored) or 1 (event)" if binary else "0 (censored) or a cause 1, 2, ..."
        raise SurvivalDataError(f"column {column!r} must be {allowed}; it is not at {_rows(frame, bad)}")
    return codes


def group_codes(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, pd.Index]:
    """Integer codes 0..k-1 of a grouping column (sorted when its values can be), refusing missing
    values and values that cannot be grouped."""
    missing = frame[column].isna().to_numpy()
    if missing.any():
        raise SurvivalDataError(f"column {column!r} has missing values at {_rows(frame, missing)}")
    try:
        try:
            codes, uniques = pd.factorize(frame[column], sort=True)
        except TypeError:  # mixed kinds that do not sort: grouped in order of appearance
            codes, uniques = pd.factorize(frame[column])
    except TypeError as error:
        raise SurvivalDataError(f"column {column!r} holds values that cannot be grouped: {error}") from None
    return codes.astype(np.int64), uniques


def combination_codes(frame: pd.DataFrame, columns: Sequence[str | None]) -> tuple[np.ndarray, pd.Index | None]:
    """Integer codes 0..k-1 of the combinations of ``columns`` (sorted) and their labels; all zeros
    (and no labels) without columns. Refuses missing values, naming the column and rows."""
    columns = [c for c in columns if c is not None]
    if not columns:
        return np.zeros(len(frame), dtype=np.int64), None
    if len(columns) == 1:
        return group_codes(frame, columns[0])
    for column in columns:
        group_codes(frame, column)  # refuses missing or ungroupable labels, naming the column and rows
    codes, uniques = pd.MultiIndex.from_frame(frame[columns]).factorize(sort=True)
    return np.asarray(codes, dtype=np.int64), uniques


def case_weights(frame: pd.DataFrame, column: str | None, *, strictly: bool = False) -> np.ndarray:
    """Case weights, all ones when ``column`` is None; ``>= 0`` (zero keeps a row with no weight, as
    R's ``survfit``) or ``> 0`` when ``strictly`` (as R's ``coxph``); refusing a sum that overflows."""
    if column is None:
        return np.ones(len(frame))
    weight = numeric_column(frame, column, minimum=0.0, strictly=strictly)
    with np.errstate(over="ignore"):
        total = weight.sum()
    if not np.isfinite(total):
        raise SurvivalDataError(f"column {column!r}: the weights are too large, their sum overflows")
    return weight
