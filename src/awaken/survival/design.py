"""From event tables to ``(start, stop]`` intervals: time-varying exposures done right.

The study's human exposures (a positive SARS-CoV-2 test, a recorded COVID-19 diagnosis) happen
*during* follow-up. Counting a person as exposed from the start of follow-up because they were
infected later gives them "immortal" unexposed time (they had to survive to be infected) and makes
the exposure look protective (Suissa 2008). The fix is to split each person's follow-up at every
exposure, so that time before the exposure counts as unexposed and time after it counts in the
window since the exposure (0-3, 3-6, 6-12, 12+ months by default), restarting at a repeat exposure.

Time is in days since ``origin`` (a date column of the persons table, e.g. cohort entry). An
exposure on day ``e`` starts the exposed window at ``e``: the interval ``(.., e]`` is unexposed, so
an outcome recorded on the exposure day itself is not attributed to it. An outcome ends follow-up
(first outcome only); a competing event (e.g. death from another cause) ends it with event code 2.

Example
-------
>>> import pandas as pd
>>> persons = pd.DataFrame({"person_id": [1, 2], "entry": pd.to_datetime(["2020-01-01", "2020-01-01"]),
...                         "exit": pd.to_datetime(["2021-01-01", "2020-07-01"])})
>>> exposures = pd.DataFrame({"person_id": [1], "date": pd.to_datetime(["2020-03-01"])})
>>> outcomes = pd.DataFrame({"person_id": [1], "date": pd.to_datetime(["2020-05-01"])})
>>> rows = exposure_intervals(persons, exposures, outcomes, origin="entry", end="exit")
>>> for row in rows[["person_id", "start", "stop", "event", "window"]].itertuples(index=False):
...     print(*row)
1 0.0 60.0 0 none
1 60.0 121.0 1 0-3m
2 0.0 182.0 0 none
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from awaken.survival._validate import SurvivalDataError, require_columns

__all__ = ["DEFAULT_WINDOWS_DAYS", "exposure_intervals", "ever_exposed", "landmark", "window_labels"]

# months 0-3, 3-6, 6-12, 12+ in days (a month = 365.25 / 12 days, rounded)
DEFAULT_WINDOWS_DAYS = (0, 91, 183, 365)
UNEXPOSED = "none"


def window_labels(windows_days: Sequence[int]) -> list[str]:
    """Labels of the windows since exposure, e.g. ``['0-3m', '3-6m', '6-12m', '12m+']``."""
    months = [round(d / (365.25 / 12)) for d in windows_days]
    labels = [f"{a}-{b}m" for a, b in zip(months[:-1], months[1:], strict=True)]
    return labels + [f"{months[-1]}m+"]


def _days(persons: pd.DataFrame, table: pd.DataFrame, column: str, origin: pd.Series, name: str) -> np.ndarray:
    values = table[column]
    if not pd.api.types.is_datetime64_any_dtype(values):
        raise SurvivalDataError(f"{name}.{column} must be dates (datetime64), it has dtype {values.dtype}")
    return ((values - origin).dt.days).to_numpy(dtype=float)


def _check_dates(table: pd.DataFrame, days: np.ndarray, follow_up_end: np.ndarray, name: str, column: str):
    bad = np.isnan(days)
    if bad.any():
        rows = list(table.index[bad][:5])
        raise SurvivalDataError(f"{name}.{column} is missing at rows {rows}")
    before = days < 0
    if before.any():
        rows = list(table.index[before][:5])
        raise SurvivalDataError(f"{name}.{column} is before the origin of follow-up at rows {rows}")
    after = days > follow_up_end
    if after.any():
        rows = list(table.index[after][:5])
        raise SurvivalDataError(
            f"{name}.{column} is after the end of follow-up (e.g. an event after death) at rows {rows}")


def exposure_intervals(
    persons: pd.DataFrame,
    exposures: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    origin: str,
    end: str,
    competing: pd.DataFrame | None = None,
    windows_days: Sequence[int] = DEFAULT_WINDOWS_DAYS,
    person: str = "person_id",
    date: str = "date",
    covariates: Sequence[str] = (),
    entry: str | None = None,
) -> pd.DataFrame:
    """One row per person and window: ``person_id, start, stop, event, window`` plus an indicator
    column per window (``exposed_0-3m``...) and the requested person-level ``covariates``.

    ``persons`` has one row per person with the ``origin`` and ``end`` dates of follow-up;
    ``exposures``, ``outcomes`` and ``competing`` are event tables with ``person`` and ``date``.
    ``entry`` (a date column of ``persons``, on or after ``origin``) makes follow-up start there
    instead of at the origin: **left truncation**, e.g. on a calendar time scale where survivors
    enter at diagnosis. Exposures before entry still count (the person enters in the window since
    the latest one); an outcome at or before entry is an error (exclude prevalent cases first).
    """
    windows_days = [int(w) for w in windows_days]
    if windows_days[0] != 0 or any(b <= a for a, b in zip(windows_days[:-1], windows_days[1:], strict=True)):
        raise SurvivalDataError(f"windows_days must start at 0 and increase, got {windows_days}")
    require_columns(persons, [person, origin, end, entry, *covariates])
    for name, table in (("exposures", exposures), ("outcomes", outcomes), ("competing", competing)):
        if table is not None:
            if not isinstance(table, pd.DataFrame) or not {person, date} <= set(table.columns):
                raise SurvivalDataError(f"{name} needs columns {[person, date]}")
    duplicated = persons[person].duplicated()
    if duplicated.any():
        raise SurvivalDataError(f"persons.{person} repeats at rows {list(persons.index[duplicated][:5])}")
    origin_of = persons.set_index(person)[origin]
    follow_days = _days(persons, persons, end, persons[origin], "persons")
    wrong = ~(follow_days > 0)
    if wrong.any():
        raise SurvivalDataError(
            f"persons.{end} must be after persons.{origin} (dates out of order) at rows {list(persons.index[wrong][:5])}")
    end_of = pd.Series(follow_days, index=persons[person].to_numpy())
    if entry is not None:
        entry_days = _days(persons, persons, entry, persons[origin], "persons")
        wrong = ~((entry_days >= 0) & (entry_days < follow_days))
        if wrong.any():
            raise SurvivalDataError(f"persons.{entry} must be on or after persons.{origin} and before persons.{end} "
                                    f"at rows {list(persons.index[wrong][:5])}")
    else:
        entry_days = np.zeros(len(persons))
    entry_of = pd.Series(entry_days, index=persons[person].to_numpy())

    def relative(table: pd.DataFrame, name: str) -> pd.DataFrame:
        unknown = ~table[person].isin(origin_of.index)
        if unknown.any():
            raise SurvivalDataError(f"{name}.{person} not in persons at rows {list(table.index[unknown][:5])}")
        days = _days(persons, table, date, table[person].map(origin_of), name)
        _check_dates(table, days, table[person].map(end_of).to_numpy(), name, date)
        return pd.DataFrame({person: table[person].to_numpy(), "day": days})

    exposure_days = relative(exposures, "exposures")
    first_outcome = relative(outcomes, "outcomes").groupby(person)["day"].min()
    prevalent = first_outcome[first_outcome <= first_outcome.index.map(entry_of)]
    if entry is not None and len(prevalent):
        raise SurvivalDataError(f"outcomes at or before persons.{entry} (prevalent cases: exclude them first) for "
                                f"persons {list(prevalent.index[:5])}")
    stop = end_of.copy()
    event = pd.Series(0, index=end_of.index)
    has_outcome = first_outcome.index
    stop.loc[has_outcome] = first_outcome
    event.loc[has_outcome] = 1
    if competing is not None and len(competing):
        first_competing = relative(competing, "competing").groupby(person)["day"].min()
        earlier = first_competing[first_competing < stop.loc[first_competing.index]]
        stop.loc[earlier.index] = earlier
        event.loc[earlier.index] = 2
    no_time = stop <= stop.index.map(entry_of)
    if no_time.any():
        raise SurvivalDataError(
            f"an outcome on the origin day leaves no follow-up for persons {list(stop.index[no_time][:5])}")

    # cut points: each exposure and the start of each later window, inside follow-up
    exp = exposure_days[exposure_days["day"] < exposure_days[person].map(stop)]
    exp = exp.drop_duplicates().sort_values([person, "day"], ignore_index=True)
    # a repeat exposure restarts the windows: an exposure's cuts stop at the next exposure
    next_exposure = exp.groupby(person)["day"].shift(-1).fillna(np.inf).to_numpy()
    cuts = [pd.DataFrame({person: stop.index, "day": stop.index.map(entry_of).to_numpy(dtype=float)}),
            pd.DataFrame({person: stop.index, "day": stop.to_numpy()})]
    for width in windows_days:
        day = exp["day"].to_numpy() + width
        keep = day < next_exposure if width > 0 else np.ones(len(day), dtype=bool)
        cuts.append(pd.DataFrame({person: exp[person].to_numpy()[keep], "day": day[keep]}))
    cut = pd.concat(cuts, ignore_index=True)
    inside = (cut["day"] <= cut[person].map(stop)) & (cut["day"] >= cut[person].map(entry_of))
    cut = cut[inside].drop_duplicates().sort_values([person, "day"], ignore_index=True)
    rows = pd.DataFrame({person: cut[person], "start": cut["day"], "stop": cut.groupby(person)["day"].shift(-1)})
    rows = rows.dropna(subset=["stop"]).reset_index(drop=True)

    # window of each row: time since the most recent exposure at or before its start
    labels = window_labels(windows_days)
    latest = exp.sort_values("day").rename(columns={"day": "exposed_day"})
    rows = pd.merge_asof(rows.sort_values("start"), latest, left_on="start", right_on="exposed_day", by=person,
                         direction="backward", allow_exact_matches=True)
    since = (rows["start"] - rows["exposed_day"]).to_numpy()
    index = np.searchsorted(np.asarray(windows_days, dtype=float), since, side="right") - 1
    window = np.where(np.isnan(since), UNEXPOSED, np.asarray(labels, dtype=object)[np.clip(index, 0, None)])
    rows["window"] = pd.Categorical(window, categories=[UNEXPOSED, *labels])
    rows = rows.drop(columns="exposed_day").sort_values([person, "start"], ignore_index=True)
    last = rows["stop"].to_numpy() == rows[person].map(stop).to_numpy()
    rows["event"] = np.where(last, rows[person].map(event).to_numpy(), 0).astype(np.int64)
    for label in labels:
        rows[f"exposed_{label}"] = (rows["window"] == label).astype(np.int64)
    if covariates:
        rows = rows.merge(persons[[person, *covariates]], on=person, how="left")
    return rows[[person, "start", "stop", "event", "window", *[f"exposed_{x}" for x in labels], *covariates]]


def ever_exposed(persons: pd.DataFrame, exposures: pd.DataFrame, outcomes: pd.DataFrame, *, origin: str, end: str,
                 person: str = "person_id", date: str = "date", competing: pd.DataFrame | None = None) -> pd.DataFrame:
    """The *wrong* design, for comparison: one row per person over the whole follow-up with
    ``ever_exposed`` = 1 if an exposure happens at any time before the outcome or the end.

    It gives exposed persons immortal time; :func:`exposure_intervals` is the correct design.
    """
    rows = exposure_intervals(persons, exposures, outcomes, origin=origin, end=end, competing=competing,
                              windows_days=(0,), person=person, date=date)
    return rows.groupby(person, as_index=False).agg(
        start=("start", "min"), stop=("stop", "max"), event=("event", "max"),
        ever_exposed=("window", lambda w: int((w != UNEXPOSED).any())),
    )


def landmark(persons: pd.DataFrame, exposures: pd.DataFrame, outcomes: pd.DataFrame, *, origin: str, end: str,
             at_days: float, competing: pd.DataFrame | None = None, person: str = "person_id", date: str = "date",
             covariates: Sequence[str] = ()) -> pd.DataFrame:
    """A **landmark** analysis data set: the persons still under follow-up and event-free
    ``at_days`` after ``origin``, their exposure fixed at the landmark (``exposed`` = 1 if exposed on
    or before it), followed from the landmark: one row each with ``start`` = 0, ``stop`` (days after
    the landmark), ``event`` (1 outcome, 2 competing, 0 censored) and ``covariates``.

    The alternative to a time-varying exposure when exposure status must be known at a fixed time
    (Anderson et al. 1983): no immortal time, at the price of ignoring exposures after the landmark.
    """
    rows = exposure_intervals(persons, exposures, outcomes, origin=origin, end=end, competing=competing,
                              windows_days=(0,), person=person, date=date, covariates=covariates)
    at_risk = rows.groupby(person).agg(stop=("stop", "max"), event=("event", "max"))
    at_risk = at_risk[at_risk["stop"] > at_days]
    before = rows[(rows["start"] < at_days) & (rows["window"] != UNEXPOSED)].groupby(person).size()
    out = pd.DataFrame({person: at_risk.index, "start": 0.0, "stop": at_risk["stop"].to_numpy() - at_days,
                        "event": at_risk["event"].to_numpy(),
                        "exposed": at_risk.index.isin(before.index).astype(np.int64)})
    if covariates:
        out = out.merge(persons[[person, *covariates]], on=person, how="left")
    return out.reset_index(drop=True)

