"""The per-survivor counterfactual table of a trial: its columns, its checks and its events.

The trial runner (:mod:`awaken.trials.run`) simulates every participant under every arm with common
random numbers and writes one row per (explanation, arm, participant): the endpoints as days from
randomisation (``inf``: not within follow-up), the end of follow-up, the harms and exposure, and the
arm the participant was randomised to in the simulated real trial (``allocated_arm``). This module is
the one place that says what the table holds (:data:`COLUMNS`, :data:`ENDPOINTS`), refuses a table the
analyses cannot read, naming the field (:func:`check_survivors`), and turns an endpoint into
(time, event code) with death from any other cause competing (:func:`endpoint_events`). The analyses
(:mod:`awaken.trials.outcomes`, :mod:`awaken.trials.sample_size`) read the table through it.

Example
-------
>>> import numpy as np, pandas as pd
>>> from awaken.trials.counterfactuals import endpoint_events
>>> rows = pd.DataFrame({"lung_metastasis_day": [100.0, np.inf, np.inf], "death_day": [np.inf, 50.0, np.inf],
...                      "end_day": [365.0, 50.0, 365.0]})
>>> endpoint_events(rows, "lung_metastasis")
(array([100.,  50., 365.]), array([1, 2, 0]))
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from awaken.errors import InputError, Problem

__all__ = ["COLUMNS", "ENDPOINTS", "HARM_COLUMNS", "REQUIRED_COLUMNS", "SLACK_DAYS", "check_survivors",
           "endpoint_events", "had_by"]

#: Endpoint name -> its column (days from randomisation, ``inf`` if it did not happen); in this order a
#: trial measures them when its file does not say (:class:`awaken.trials.design.Trial`, ``endpoints``).
ENDPOINTS: dict[str, str] = {
    "lung_metastasis": "lung_metastasis_day",
    "cancer_death": "cancer_death_day",
    "death": "death_day",
    "covid_death": "covid_death_day",
}
#: Harms and exposure, per row.
HARM_COLUMNS: tuple[str, ...] = ("treated", "doses", "neutropenia", "viral_rebound", "clearance_delay_days",
                                 "ct_scans", "ct_false_positives")
#: The columns the analysis reads (covariates such as ``age`` may be there; they are not used).
REQUIRED_COLUMNS: tuple[str, ...] = ("explanation", "arm", "person_id", "allocated_arm", *ENDPOINTS.values(),
                                     "end_day", *HARM_COLUMNS)
#: Every column of the table the trial runner writes, in its order: the required ones, the participant's
#: covariates at randomisation, the infections they had and the trial detected, and how many days
#: earlier than under the control a lung metastasis was found.
COLUMNS: tuple[str, ...] = ("explanation", "arm", "person_id", "allocated_arm", "age", "subtype",
                            "years_since_diagnosis", *ENDPOINTS.values(), "end_day", "follow_up_days", "infections",
                            "detected_infections", *HARM_COLUMNS, "lung_metastasis_earlier_days")
_DAY_COLUMNS = (*ENDPOINTS.values(), "end_day")
#: Days that differ by less than this are the same day (floating-point slack on end_day <= follow-up).
SLACK_DAYS = 1e-6


# ---------------------------------------------------------------------------- checking the table
def check_survivors(survivors: pd.DataFrame, control: str, follow_up_days: float,
                    reference: str | None = None) -> list[str]:
    """Refuse a table the analysis cannot read, naming the field; return the arms, control first.

    Checked: every column of :data:`REQUIRED_COLUMNS`; ``control`` an arm of every explanation;
    ``follow_up_days`` a positive number; days not missing, not negative, ``end_day`` finite and not
    after the follow-up; one row per (explanation, arm, person_id) and every person under every arm
    of its explanation; one ``allocated_arm`` per person, an arm of the trial (never ``reference``).
    """
    if not isinstance(survivors, pd.DataFrame):
        raise InputError.field("survivors", f"must be a pandas DataFrame, got {type(survivors).__name__}")
    if isinstance(follow_up_days, bool) or not isinstance(follow_up_days, (int, float, np.integer, np.floating)) \
            or not math.isfinite(follow_up_days) or follow_up_days <= 0:
        raise InputError.field("follow_up_days", "must be a positive, finite number of days", follow_up_days)
    missing = [c for c in REQUIRED_COLUMNS if c not in survivors.columns]
    if missing:
        raise InputError([Problem(f"survivors.{c}", "missing column (the trial table needs it)") for c in missing])
    if survivors.empty:
        raise InputError.field("survivors", "has no rows")
    problems: list[Problem] = []
    for column in (*_DAY_COLUMNS, "clearance_delay_days", "doses", "ct_scans", "ct_false_positives"):
        try:
            values = survivors[column].to_numpy(dtype=float)
        except (TypeError, ValueError):
            problems.append(Problem(f"survivors.{column}", "must hold numbers"))
            continue
        if np.isnan(values).any():
            problems.append(Problem(f"survivors.{column}", f"is missing in {int(np.isnan(values).sum()):,} rows"))
        elif (values < 0).any():
            problems.append(Problem(f"survivors.{column}", f"is negative in {int((values < 0).sum()):,} rows"))
    if not problems:
        end = survivors["end_day"].to_numpy(dtype=float)
        if not np.isfinite(end).all() or (end > follow_up_days + SLACK_DAYS).any():
            problems.append(Problem("survivors.end_day", f"must be finite and at most follow_up_days "
                                    f"({follow_up_days:g}); it is not in {int((~(end <= follow_up_days + SLACK_DAYS)).sum()):,} rows"))
        death = survivors["death_day"].to_numpy(dtype=float)
        early = death < end - SLACK_DAYS
        if early.any():
            problems.append(Problem("survivors.end_day", f"is after death_day in {int(early.sum()):,} rows "
                                    "(follow-up ends at death)"))
    if problems:
        raise InputError(problems)

    arms = _arms(survivors, control, reference)
    keys = ["explanation", "arm", "person_id"]
    repeated = survivors.duplicated(keys)
    if repeated.any():
        first = survivors.loc[repeated, keys].iloc[0].to_dict()
        raise InputError.field("survivors.person_id", f"repeats within an (explanation, arm) in "
                               f"{int(repeated.sum()):,} rows, e.g. {first}")
    per_person = survivors.groupby(["explanation", "person_id"], sort=False, observed=True)
    incomplete = per_person["arm"].size() != len(arms) + (reference is not None)
    if incomplete.any():
        explanation, person = incomplete.index[incomplete.to_numpy()][0]
        raise InputError.field("survivors.person_id", f"person {person} of explanation {explanation!r} is not "
                               f"under every arm ({len(arms) + (reference is not None)} expected); the analysis "
                               "pairs each survivor's arms")
    trial_rows = survivors if reference is None else survivors[survivors["arm"] != reference]
    allocations = trial_rows.groupby(["explanation", "person_id"], sort=False, observed=True)["allocated_arm"]
    if (allocations.nunique() > 1).any():
        raise InputError.field("survivors.allocated_arm", "differs between the rows of one person; it is the arm "
                               "the person was randomised to, the same in every row")
    unknown = sorted(set(pd.unique(trial_rows["allocated_arm"]).astype(str)) - set(arms))
    if unknown:
        raise InputError.field("survivors.allocated_arm", f"names arms the trial does not have: {unknown}; arms: "
                               f"{arms}")
    return arms


def _arms(survivors: pd.DataFrame, control: str, reference: str | None) -> list[str]:
    names = [str(a) for a in pd.unique(survivors["arm"])]
    if not isinstance(control, str) or control not in names:
        raise InputError.field("control", f"is not an arm of the table; its arms are {names}", control)
    if reference is not None:
        if reference not in names:
            raise InputError.field("reference", f"is not an arm of the table; its arms are {names}", reference)
        if reference == control:
            raise InputError.field("reference", "must differ from control (it is the no-infection reference)",
                                   reference)
    for explanation, arms in survivors.groupby("explanation", sort=False, observed=True)["arm"]:
        if control not in set(pd.unique(arms).astype(str)):
            raise InputError.field("control", f"is not an arm under explanation {explanation!r}", control)
    names.remove(control)
    if reference is not None:
        names.remove(reference)
    if not names:
        raise InputError.field("survivors.arm", f"holds only the control arm {control!r}; a trial compares arms")
    return [control, *names]


# ---------------------------------------------------------------------------- events
def endpoint_events(frame: pd.DataFrame, endpoint: str, horizon_day: float | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(time, event code) of ``endpoint`` per row: 1 the endpoint, 2 death from another cause first
    (competing), 0 censored at ``end_day``; with ``horizon_day`` follow-up is censored there.

    All-cause ``death`` has codes 0/1 only. An endpoint on the day of death counts as the endpoint.
    """
    day = frame[ENDPOINTS[endpoint]].to_numpy(dtype=float)
    death = frame["death_day"].to_numpy(dtype=float)
    end = frame["end_day"].to_numpy(dtype=float)
    own = (day <= end + SLACK_DAYS) & (day <= death)
    competing = ~own & (death <= end + SLACK_DAYS) if endpoint != "death" else np.zeros(len(day), dtype=bool)
    time = np.where(own, day, np.where(competing, death, end))
    code = np.where(own, 1, np.where(competing, 2, 0))
    if horizon_day is not None:
        late = time > horizon_day
        time = np.where(late, horizon_day, time)
        code = np.where(late, 0, code)
    return time, code


def had_by(frame: pd.DataFrame, endpoint: str, horizon_day: float) -> np.ndarray:
    """Whether each row had ``endpoint`` by ``horizon_day`` (before death from another cause and the end of follow-up)."""
    time, code = endpoint_events(frame, endpoint, horizon_day)
    return code == 1
