"""What an in-silico trial found: absolute risks, risk differences, hazard ratios, NNT and harms per arm.

The trial runner simulates every eligible survivor under every arm with common random numbers, so
its table ``survivors`` (one row per explanation, arm and person; the columns are
:data:`~awaken.trials.counterfactuals.REQUIRED_COLUMNS`) holds each survivor's counterfactual under each arm. This module reads it
two ways, per explanation of the human excess (``explanation``):

- **paired** -- the counterfactual truth of the simulated population: every survivor under every
  arm, follow-up complete to ``min(death, follow_up_days)``. The risk of an endpoint by day ``h`` is
  the share of survivors who had it by ``h``; the risk difference is the mean of each survivor's
  difference of indicators (arm minus control) with the standard error of that mean, so an arm that
  changes nobody's life gives exactly 0 with a zero-width interval.
- **trial** -- what a real randomised trial of the same people would see: only the rows of the arm
  each survivor was allocated to (``arm == allocated_arm``). Risks are Aalen-Johansen cumulative
  incidences (:class:`awaken.survival.AalenJohansen`; death from any other cause competes; Gray's
  variance) and, for all-cause death, 1 - Kaplan-Meier (Greenwood); the risk difference is unpaired
  (Wald, the two variances added); the hazard ratio is the cause-specific Cox estimate
  (:class:`awaken.survival.CoxPH`, Efron ties, competing deaths censored, follow-up censored at the
  horizon) of the arm against the control.

The number needed to treat follows Altman (1998; :func:`awaken.trials.effect_measures.number_needed_to_treat`).
The **prevented share of the excess** needs the same survivors without any infection (``reference``):
(risk under control - risk under the arm) / (risk under control - risk without infection), paired,
with a delta-method interval; under an explanation whose excess is not caused by infection there is
no excess to prevent, and the share is not reported (NaN, with a note). Without a reference the
share is omitted, and a note says so.

Harms are counted on the paired table (every survivor under every arm), per 1,000 survivors of the
arm and per 1,000 treated, with Wilson intervals for proportions
(:func:`awaken.trials.effect_measures.harm_table`). The table's columns and its checks are
:mod:`awaken.trials.counterfactuals`.

Example
-------
Twenty survivors followed for a year: four have a lung metastasis under the control, and the drug
prevents two of them; half are allocated to each arm.

>>> import numpy as np, pandas as pd
>>> from awaken.trials.outcomes import trial_outcomes
>>> harms = ("treated", "doses", "neutropenia", "viral_rebound", "clearance_delay_days", "ct_scans",
...          "ct_false_positives")
>>> table = pd.DataFrame([{"explanation": "awakening", "arm": arm, "person_id": p,
...     "allocated_arm": ("control", "drug")[p % 2], "end_day": 365.0,
...     "lung_metastasis_day": 200.0 if p < 4 and not (arm == "drug" and p < 2) else np.inf,
...     "cancer_death_day": np.inf, "covid_death_day": np.inf, "death_day": np.inf, **dict.fromkeys(harms, 0)}
...     for arm in ("control", "drug") for p in range(20)])
>>> effects = trial_outcomes(table, "control", 365.0, endpoints=["lung_metastasis"]).effects
>>> effects.loc[0, ["arm", "control_risk_paired", "risk_paired", "rd_paired", "nnt_paired_text"]].to_dict()
{'arm': 'drug', 'control_risk_paired': 0.2, 'risk_paired': 0.1, 'rd_paired': -0.1, 'nnt_paired_text': 'NNTB 10 (NNTH 29 to ∞ to NNTB 4.3)'}
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from awaken.errors import InputError, Problem
from awaken.runs.files import jsonable
from awaken.survival import AalenJohansen, ConvergenceWarning, CoxPH, KaplanMeier, SurvivalDataError
from awaken.survival.kaplan_meier import step_values
from awaken.trials.counterfactuals import ENDPOINTS, SLACK_DAYS, check_survivors, endpoint_events, had_by
from awaken.trials.effect_measures import harm_table, number_needed_to_treat

__all__ = ["TrialOutcomes", "hazard_ratio", "trial_outcomes", "trial_risks"]


# ---------------------------------------------------------------------------- the result
@dataclass(frozen=True)
class TrialOutcomes:
    """The analysis of one trial table.

    ``incidence``: one row per (explanation, view, endpoint, arm, day) -- ``risk``, ``lower``,
    ``upper`` (pointwise, Aalen-Johansen log(-log) or Kaplan-Meier log intervals), ``estimator``.
    ``effects``: one row per (explanation, endpoint, horizon_day, arm) for every arm but the control --
    paired and trial risks, risk differences with SE and interval, the Cox hazard ratio, NNTs and, with a
    reference, the prevented share of the excess. ``harms``: one row per (explanation, arm, measure,
    denominator). ``notes``: what could not be estimated, and why.
    """

    control: str
    arms: tuple[str, ...]
    explanations: tuple[str, ...]
    endpoints: tuple[str, ...]
    follow_up_days: float
    horizons_days: tuple[float, ...]
    alpha: float
    incidence: pd.DataFrame
    effects: pd.DataFrame
    harms: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tidy tables by name (``incidence``, ``effects``, ``harms``), for Parquet."""
        return {"incidence": self.incidence, "effects": self.effects, "harms": self.harms}

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary: settings, effects and harms as records (infinities and NaN as null; the
        incidence curves are in the ``incidence`` table only)."""
        return jsonable({
            "control": self.control, "arms": list(self.arms), "explanations": list(self.explanations),
            "endpoints": list(self.endpoints), "follow_up_days": float(self.follow_up_days),
            "horizons_days": [float(h) for h in self.horizons_days], "confidence_level": 1 - self.alpha,
            "effects": self.effects.to_dict(orient="records"), "harms": self.harms.to_dict(orient="records"),
            "notes": list(self.notes),
        })


# ---------------------------------------------------------------------------- the analysis
def trial_outcomes(survivors: pd.DataFrame, control: str, follow_up_days: float, *,
                   horizons_days: Sequence[float] | None = None, grid_days: Sequence[float] | None = None,
                   endpoints: Sequence[str] = tuple(ENDPOINTS), reference: str | pd.DataFrame | None = None,
                   alpha: float = 0.05) -> TrialOutcomes:
    """Analyse a trial's per-survivor counterfactual table (module docstring).

    ``horizons_days``: days at which risks are compared (default: the end of follow-up);
    ``grid_days``: days of the incidence curves (default: 0 to the follow-up in 100 steps);
    ``reference``: the same survivors without any infection, either the name of an arm of the table
    (its rows are not a trial arm and nobody is allocated to it) or a DataFrame with ``person_id``,
    the endpoint columns, ``death_day`` and ``end_day`` (and ``explanation``, or one table for every
    explanation); without it the prevented share is omitted.

    For example ``trial_outcomes(survivors, "standard_care", 3652.5, horizons_days=[365.25, 3652.5],
    reference="no_infection").effects`` gives, per explanation, endpoint, horizon and arm, ``rd_paired``,
    ``rd_trial``, ``hr`` and ``nnt_paired_text``.
    """
    if not (isinstance(alpha, float | int) and 0 < alpha < 1):
        raise InputError.field("alpha", "must be between 0 and 1", alpha)
    arm_reference = reference if isinstance(reference, str) else None
    arms = check_survivors(survivors, control, follow_up_days, arm_reference)
    follow_up_days = float(follow_up_days)
    unknown = [e for e in endpoints if e not in ENDPOINTS]
    if unknown or not endpoints:
        raise InputError.field("endpoints", f"must name endpoints among {list(ENDPOINTS)}", list(endpoints))
    horizons = _days("horizons_days", horizons_days, follow_up_days, default=(follow_up_days,))
    grid = _days("grid_days", grid_days, follow_up_days, default=tuple(np.linspace(0.0, follow_up_days, 101)),
                 allow_zero=True)
    frame = survivors.assign(arm=survivors["arm"].astype(str), allocated_arm=survivors["allocated_arm"].astype(str))
    reference_rows = None
    if arm_reference is not None:
        reference_rows = frame[frame["arm"] == arm_reference]
        frame = frame[frame["arm"] != arm_reference]
    elif reference is not None:
        reference_rows = _check_reference(reference, endpoints)
    z = float(stats.norm.ppf(1 - alpha / 2))
    notes: list[str] = []
    end = frame["end_day"].to_numpy(dtype=float)
    censored = end < np.minimum(frame["death_day"].to_numpy(dtype=float), follow_up_days) - SLACK_DAYS
    if censored.any():
        notes.append(f"{int(censored.sum()):,} rows end follow-up before death and before follow_up_days: the "
                     "paired view counts them free of every endpoint after their end_day")
    if reference is None:
        notes.append("no no-infection reference was given: the prevented share of the excess is omitted")

    incidence, effects, harms = [], [], []
    explanations = tuple(str(e) for e in pd.unique(frame["explanation"]))
    for explanation in explanations:
        rows = frame[frame["explanation"] == explanation].sort_values(["arm", "person_id"], kind="stable")
        by_arm = {arm: rows[rows["arm"] == arm] for arm in arms}
        allocated = rows[rows["arm"] == rows["allocated_arm"]]
        ref = None
        if reference_rows is not None:
            ref = _aligned_reference(reference_rows, explanation, by_arm[control]["person_id"].to_numpy())
        for endpoint in endpoints:
            for view, data in (("paired", rows), ("trial", allocated)):
                curves = _incidence(data, endpoint, arms, grid, alpha)
                incidence.append(curves.assign(explanation=explanation, view=view, endpoint=endpoint))
            for horizon in horizons:
                effects.extend(_effects(by_arm, allocated, ref, arms, endpoint, horizon, z, alpha, notes,
                                        explanation))
        harms.append(harm_table(by_arm, z).assign(explanation=explanation))

    incidence_table = pd.concat(incidence, ignore_index=True)[
        ["explanation", "view", "endpoint", "arm", "day", "risk", "lower", "upper", "estimator"]]
    effects_table = pd.DataFrame(effects)
    if reference is None:
        effects_table = effects_table.drop(columns=[c for c in effects_table if c.startswith(("prevented", "excess"))])
    harms_table = pd.concat(harms, ignore_index=True)
    harms_table = harms_table[["explanation", *[c for c in harms_table.columns if c != "explanation"]]]
    return TrialOutcomes(control=control, arms=tuple(arms), explanations=explanations, endpoints=tuple(endpoints),
                         follow_up_days=follow_up_days, horizons_days=horizons, alpha=float(alpha),
                         incidence=incidence_table, effects=effects_table, harms=harms_table,
                         notes=tuple(dict.fromkeys(notes)))


def _days(name: str, values, follow_up_days: float, default: tuple[float, ...], allow_zero: bool = False
          ) -> tuple[float, ...]:
    if values is None:
        return tuple(float(v) for v in default)
    try:
        days = np.atleast_1d(np.asarray(values, dtype=float))
    except (TypeError, ValueError):
        raise InputError.field(name, "must be numbers of days", values) from None
    low_ok = days >= 0 if allow_zero else days > 0
    if days.size == 0 or not (np.isfinite(days) & low_ok & (days <= follow_up_days)).all():
        raise InputError.field(name, f"must be days {'>= 0' if allow_zero else '> 0'} and at most follow_up_days "
                               f"({follow_up_days:g})", list(np.atleast_1d(values)))
    return tuple(float(d) for d in np.unique(days))


def _check_reference(reference: pd.DataFrame, endpoints: Sequence[str]) -> pd.DataFrame:
    if not isinstance(reference, pd.DataFrame):
        raise InputError.field("reference", f"must be an arm name or a DataFrame, got {type(reference).__name__}")
    needed = ["person_id", "death_day", "end_day", *[ENDPOINTS[e] for e in endpoints]]
    missing = [c for c in dict.fromkeys(needed) if c not in reference.columns]
    if missing:
        raise InputError([Problem(f"reference.{c}", "missing column (the no-infection reference needs it)")
                          for c in missing])
    return reference


def _aligned_reference(reference: pd.DataFrame, explanation: str, persons: np.ndarray) -> pd.DataFrame:
    rows = reference
    if "explanation" in reference.columns:
        rows = reference[reference["explanation"].astype(str) == explanation]
    rows = rows.drop_duplicates("person_id").set_index("person_id")
    absent = ~np.isin(persons, rows.index.to_numpy())
    if absent.any():
        raise InputError.field("reference.person_id", f"lacks {int(absent.sum()):,} survivors of explanation "
                               f"{explanation!r} (e.g. person {persons[absent][0]}); the reference pairs each "
                               "survivor with themself without infection")
    return rows.loc[persons].reset_index()


def _incidence(data: pd.DataFrame, endpoint: str, arms: Sequence[str], grid: tuple[float, ...], alpha: float
               ) -> pd.DataFrame:
    """Cumulative incidence of ``endpoint`` per arm on ``grid``, with pointwise intervals."""
    days = np.asarray(grid)
    out = []
    time, code = endpoint_events(data, endpoint)
    events = pd.DataFrame({"time": time, "event": code, "arm": data["arm"].to_numpy()})
    if endpoint == "death":
        for arm in arms:
            part = events[events["arm"] == arm]
            if part.empty:
                continue
            km = KaplanMeier().fit(part, time="time", event="event")
            band = km.confidence_interval(alpha, "log")
            index = km.table_.index.to_numpy()
            out.append(pd.DataFrame({
                "arm": arm, "day": days, "risk": 1 - step_values(index, km.survival_function_.to_numpy(), days, 1.0),
                "lower": 1 - step_values(index, band["upper"].to_numpy(), days, 1.0),
                "upper": 1 - step_values(index, band["lower"].to_numpy(), days, 1.0), "estimator": "kaplan_meier"}))
        return pd.concat(out, ignore_index=True)
    present = [arm for arm in arms if (events["arm"] == arm).any()]
    if not (code == 1).any():  # nobody had it: the estimate is 0 with no spread
        return pd.concat([pd.DataFrame({"arm": arm, "day": days, "risk": 0.0, "lower": 0.0, "upper": 0.0,
                                        "estimator": "aalen_johansen"}) for arm in present], ignore_index=True)
    fit = AalenJohansen().fit(events, time="time", event="event", cause=1, group="arm")
    band = fit.confidence_interval(alpha)
    index = fit.cumulative_incidence_.index.to_numpy()
    for arm in present:
        out.append(pd.DataFrame({
            "arm": arm, "day": days, "risk": step_values(index, fit.cumulative_incidence_[arm].to_numpy(), days, 0.0),
            "lower": step_values(index, band[("lower", arm)].to_numpy(), days, 0.0),
            "upper": step_values(index, band[("upper", arm)].to_numpy(), days, 0.0), "estimator": "aalen_johansen"}))
    return pd.concat(out, ignore_index=True)


def trial_risks(allocated: pd.DataFrame, endpoint: str, arms: Sequence[str], horizon: float
                 ) -> dict[str, tuple[float, float, int, int]]:
    """(risk, variance, people, events by the horizon) per arm among the allocated rows."""
    time, code = endpoint_events(allocated, endpoint)
    events = pd.DataFrame({"time": time, "event": code, "arm": allocated["arm"].to_numpy()})
    out = {}
    for arm in arms:
        part = events[events["arm"] == arm]
        n, hits = len(part), int(((part["event"] == 1) & (part["time"] <= horizon)).sum())
        if n == 0:
            out[arm] = (math.nan, math.nan, 0, 0)
        elif hits == 0:
            out[arm] = (0.0, 0.0, n, 0)
        elif endpoint == "death":
            km = KaplanMeier().fit(part, time="time", event="event")
            index = km.table_.index.to_numpy()
            s = float(step_values(index, km.survival_function_.to_numpy(), np.array([horizon]), 1.0)[0])
            se_log = float(step_values(index, km.table_["std_err"].to_numpy(), np.array([horizon]), 0.0)[0])
            out[arm] = (1 - s, (s * se_log) ** 2 if s > 0 else 0.0, n, hits)
        else:
            fit = AalenJohansen().fit(part, time="time", event="event", cause=1)
            index = fit.cumulative_incidence_.index.to_numpy()
            risk = float(step_values(index, fit.cumulative_incidence_.to_numpy(), np.array([horizon]), 0.0)[0])
            var = float(step_values(index, fit.variance_.to_numpy(), np.array([horizon]), 0.0)[0])
            out[arm] = (risk, var, n, hits)
    return out


def hazard_ratio(allocated: pd.DataFrame, endpoint: str, control: str, arm: str, horizon: float,
                 alpha: float = 0.05, notes: list[str] | None = None, label: str = "") -> dict[str, float]:
    """Cause-specific Cox hazard ratio of ``arm`` vs ``control`` on the rows given (the allocated ones for
    a trial), follow-up censored at ``horizon``: ``hr``, ``hr_lower``, ``hr_upper``, ``hr_p``, ``log_hr``,
    ``log_hr_se`` (NaN when there is nothing to estimate; why is appended to ``notes``)."""
    notes = notes if notes is not None else []
    label = label or f"{endpoint}, {arm} vs {control}"
    rows = allocated[allocated["arm"].isin([control, arm])]
    time, code = endpoint_events(rows, endpoint, horizon)
    data = pd.DataFrame({"time": time, "event": code, "in_arm": (rows["arm"] == arm).to_numpy().astype(float)})
    empty = {"hr": math.nan, "hr_lower": math.nan, "hr_upper": math.nan, "hr_p": math.nan, "log_hr": math.nan,
             "log_hr_se": math.nan}
    if data["in_arm"].nunique() < 2:
        notes.append(f"{label}: nobody allocated to one of the arms; no hazard ratio")
        return empty
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            fit = CoxPH(alpha=alpha).fit(data, stop="time", event="event", covariates=["in_arm"],
                                         cause=None if endpoint == "death" else 1)
    except SurvivalDataError as error:
        notes.append(f"{label}: no hazard ratio ({error})")
        return empty
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            notes.append(f"{label}: {w.message}")
    row = fit.summary.loc["in_arm"]
    level = f"{1 - alpha:.0%}".replace("%", "")
    return {"hr": float(row["exp(coef)"]), "hr_lower": float(row[f"exp(coef) lower {level}%"]),
            "hr_upper": float(row[f"exp(coef) upper {level}%"]), "hr_p": float(row["p"]),
            "log_hr": float(row["coef"]), "log_hr_se": float(row["se(coef)"])}


def _effects(by_arm: dict[str, pd.DataFrame], allocated: pd.DataFrame, reference: pd.DataFrame | None,
             arms: Sequence[str], endpoint: str, horizon: float, z: float, alpha: float, notes: list[str],
             explanation: str) -> list[dict[str, Any]]:
    control = arms[0]
    had = {arm: had_by(by_arm[arm], endpoint, horizon).astype(float) for arm in arms}
    trial = trial_risks(allocated, endpoint, arms, horizon)
    c_risk, c_var, c_n, c_hits = trial[control]
    out = []
    ref_had = had_by(reference, endpoint, horizon).astype(float) if reference is not None else None
    for arm in arms[1:]:
        label = f"{explanation}, {endpoint}, {arm} vs {control} by day {horizon:g}"
        n = len(had[arm])
        diff = had[arm] - had[control]
        rd = float(diff.mean())
        se = float(diff.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
        a_risk, a_var, a_n, a_hits = trial[arm]
        rd_trial = a_risk - c_risk
        se_trial = math.sqrt(a_var + c_var)
        row: dict[str, Any] = {
            "explanation": explanation, "endpoint": endpoint, "horizon_day": horizon, "arm": arm,
            "control": control,
            "n_paired": n, "risk_paired": float(had[arm].mean()), "control_risk_paired": float(had[control].mean()),
            "rd_paired": rd, "rd_paired_se": se, "rd_paired_lower": rd - z * se, "rd_paired_upper": rd + z * se,
            "n_trial": a_n, "n_trial_control": c_n, "events_trial": a_hits, "events_trial_control": c_hits,
            "risk_trial": a_risk, "risk_trial_se": math.sqrt(a_var), "control_risk_trial": c_risk,
            "control_risk_trial_se": math.sqrt(c_var), "rd_trial": rd_trial, "rd_trial_se": se_trial,
            "rd_trial_lower": rd_trial - z * se_trial, "rd_trial_upper": rd_trial + z * se_trial,
        }
        row.update(hazard_ratio(allocated, endpoint, control, arm, horizon, alpha, notes, label))
        for view in ("paired", "trial"):
            nnt = number_needed_to_treat(row[f"rd_{view}"], row[f"rd_{view}_lower"], row[f"rd_{view}_upper"])
            row.update({f"nnt_{view}": nnt["nnt"], f"nnt_{view}_to": nnt["to"],
                        f"nntb_{view}_lower": nnt["nntb_lower"], f"nntb_{view}_upper": nnt["nntb_upper"],
                        f"nnth_{view}_lower": nnt["nnth_lower"], f"nnth_{view}_upper": nnt["nnth_upper"],
                        f"nnt_{view}_text": nnt["text"]})
        row.update(_prevented(had[control], had[arm], ref_had, z, notes,
                              f"{explanation}, {endpoint} by day {horizon:g}"))
        out.append(row)
    return out


def _prevented(control: np.ndarray, arm: np.ndarray, reference: np.ndarray | None, z: float, notes: list[str],
               label: str) -> dict[str, float]:
    """Share of the excess (control - no infection) the arm prevents (control - arm), paired; delta method."""
    keys = ("excess_risk", "excess_risk_se", "prevented_share", "prevented_share_lower", "prevented_share_upper")
    if reference is None:
        return dict.fromkeys(keys, math.nan)
    prevented, excess = control - arm, control - reference
    n = len(control)
    mean_p, mean_e = float(prevented.mean()), float(excess.mean())
    excess_se = float(excess.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    out = dict.fromkeys(keys, math.nan)
    out.update(excess_risk=mean_e, excess_risk_se=excess_se)
    if not mean_e > 0:
        notes.append(f"{label}: no excess over the no-infection reference ({mean_e:+.4g}); no prevented share")
        return out
    share = mean_p / mean_e
    if n > 1:
        cov = np.cov(prevented, excess, ddof=1)
        var = (cov[0, 0] - 2 * share * cov[0, 1] + share**2 * cov[1, 1]) / (n * mean_e**2)
        se = math.sqrt(max(var, 0.0))
    else:
        se = math.nan
    out.update(prevented_share=share, prevented_share_lower=share - z * se, prevented_share_upper=share + z * se)
    return out
