"""How large a real prevention trial must be: Schoenfeld's events, participants, and a simulation check.

For a trial comparing an arm with the control by the log-rank test or a Cox model, Schoenfeld (1983,
Biometrics 39:499-503) gives the number of events of the endpoint needed for a two-sided test at
``alpha`` with power ``1 - beta`` to detect a hazard ratio ``HR`` when a share ``p`` of the
participants is in the arm (``p = r / (1 + r)`` for an allocation ratio ``r`` = arm : control)::

    events = (z_{1 - alpha/2} + z_{1 - beta})^2 / (p (1 - p) log(HR)^2)

Participants follow from the probability that a participant has the endpoint during follow-up
(Collett 2015, *Modelling Survival Data in Medical Research*, 3rd ed., section 10.2): ``N = events /
P(event)``, ``P(event) = (p_control + r p_arm) / (1 + r)``. Here the probabilities are the simulated
ones -- the Aalen-Johansen cumulative incidence of the endpoint by the end of follow-up among the
survivors allocated to each arm, death from other causes competing -- and the hazard ratio is the
cause-specific Cox estimate on the same rows (:func:`awaken.trials.outcomes.hazard_ratio`), one per
explanation of the human excess: the trial needed depends on which explanation is true. For an
assumed ``hazard_ratios=`` effect, the arm's probability is taken as ``1 - (1 - p_control)^HR``,
exact without competing deaths and an approximation with them (said in the table's ``source``).

By default (``basis="paired"``) the effect and the risks are those of the counterfactual table --
every survivor under every arm -- so they carry no allocation noise; ``basis="trial"`` takes them
from the allocated rows only, as a pilot trial of the simulated size would see them.

The **simulation check** draws ``n`` control and ``r n`` arm survivors with replacement from the
same rows of each arm (a bootstrap by person), refits the Cox model and counts the replicates
with a two-sided ``p < alpha``; its Monte Carlo standard error is ``sqrt(power (1 - power) /
replicates)``. Replicates are seeded by ``(seed, explanation, arm, n)``: the same seed gives the same
numbers, whatever else is computed.

Example
-------
>>> from awaken.trials.sample_size import schoenfeld_events
>>> round(schoenfeld_events(0.5, alpha=0.05, power=0.8), 1)
65.3
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

from awaken.errors import InputError
from awaken.runs.files import jsonable
from awaken.survival import ConvergenceWarning, CoxPH, SurvivalDataError
from awaken.trials.counterfactuals import ENDPOINTS, check_survivors, endpoint_events
from awaken.trials.outcomes import hazard_ratio, trial_risks

__all__ = ["SampleSize", "participants_for_events", "sample_size", "schoenfeld_events", "schoenfeld_power"]

#: Multiples of the required size at which the curve is drawn when ``n_per_arm`` is not given.
_CURVE_MULTIPLES = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)


def _check_design(alpha: float, allocation_ratio: float, power: float | None = None) -> None:
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise InputError.field("alpha", "must be between 0 and 1", alpha)
    if power is not None and not (isinstance(power, (int, float)) and 0 < power < 1):
        raise InputError.field("power", "must be between 0 and 1", power)
    if not (isinstance(allocation_ratio, (int, float)) and math.isfinite(allocation_ratio) and allocation_ratio > 0):
        raise InputError.field("allocation_ratio", "must be a positive number (arm : control)", allocation_ratio)


#: The largest trial (per arm) the default bootstrap power check simulates; larger required sizes get
#: the formula only (ask for simulate_n_per_arm explicitly to simulate them).
MAX_SIMULATED_PER_ARM = 50_000


def schoenfeld_events(hazard_ratio: float, alpha: float = 0.05, power: float = 0.8,
                      allocation_ratio: float = 1.0) -> float:
    """Events needed (not rounded) to detect ``hazard_ratio`` by a two-sided test (Schoenfeld 1983);
    infinite for a ratio of 1.

    >>> round(schoenfeld_events(2.0), 2)   # 80 % power, alpha 0.05, 1:1
    65.35
    """
    _check_design(alpha, allocation_ratio, power)
    if not (isinstance(hazard_ratio, (int, float)) and hazard_ratio > 0 and math.isfinite(hazard_ratio)):
        raise InputError.field("hazard_ratio", "must be a positive number", hazard_ratio)
    share = allocation_ratio / (1 + allocation_ratio)
    log_hr = math.log(hazard_ratio)
    if log_hr == 0:
        return math.inf
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float(z**2 / (share * (1 - share) * log_hr**2))


def schoenfeld_power(events: float, hazard_ratio: float, alpha: float = 0.05, allocation_ratio: float = 1.0
                     ) -> float:
    """Power of the two-sided test with ``events`` events (Schoenfeld's formula solved for power; the
    far tail, rejecting in the wrong direction, is included so that a ratio of 1 gives ``alpha``)."""
    _check_design(alpha, allocation_ratio)
    if not (hazard_ratio > 0 and math.isfinite(hazard_ratio)) or not events >= 0:
        return math.nan
    share = allocation_ratio / (1 + allocation_ratio)
    drift = math.sqrt(events * share * (1 - share)) * abs(math.log(hazard_ratio))
    z = stats.norm.ppf(1 - alpha / 2)
    return float(stats.norm.sf(z - drift) + stats.norm.cdf(-z - drift))


def participants_for_events(events: float, event_probability: float) -> float:
    """Participants expected to give ``events`` events when each has the endpoint with
    ``event_probability`` during follow-up (not rounded; infinite when nobody would)."""
    if not 0 <= event_probability <= 1:
        raise InputError.field("event_probability", "must be between 0 and 1", event_probability)
    return math.inf if event_probability == 0 else events / event_probability


@dataclass(frozen=True)
class SampleSize:
    """``curve``: one row per (explanation, arm, source, hazard_ratio, n_per_arm) -- control and arm
    risks, expected events, power by formula and, where computed, by simulation with its Monte Carlo
    SE. ``required``: per (explanation, arm, source, hazard_ratio) the events and participants for the
    target power. ``settings``: the design. ``notes``: what could not be computed."""

    curve: pd.DataFrame
    required: pd.DataFrame
    settings: dict[str, Any]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"sample_size_curve": self.curve, "sample_size_required": self.required}

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"settings": self.settings, "required": self.required.to_dict(orient="records"),
                         "curve": self.curve.to_dict(orient="records"), "notes": list(self.notes)})


def sample_size(survivors: pd.DataFrame, control: str, follow_up_days: float, *, endpoint: str = "lung_metastasis",
                arms: Sequence[str] | None = None, alpha: float = 0.05, power: float = 0.8,
                allocation_ratio: float = 1.0, n_per_arm: Sequence[int] | None = None,
                hazard_ratios: Sequence[float] = (), simulate_n_per_arm: Sequence[int] | None = None,
                replicates: int = 200, seed: int = 0, basis: str = "paired") -> SampleSize:
    """Sample size of a trial of each arm against ``control``, per explanation (module docstring).

    ``n_per_arm``: control-arm sizes of the curve (the arm has ``allocation_ratio`` times as many;
    default: multiples of the required size); ``hazard_ratios``: assumed effects added to the simulated
    ones (formula only); ``simulate_n_per_arm``: sizes at which the bootstrap checks the formula
    (default: the required size, rounded; ``()`` for none); ``replicates``: bootstrap trials per size;
    ``basis``: where the effect, the risks and the bootstrap come from -- ``"paired"`` (default) every
    survivor under every arm, the counterfactual truth (an arm that changes nobody gives HR 1 exactly
    and needs an infinite trial), or ``"trial"`` the allocated rows only (what a pilot of the same size
    would estimate, sampling noise included).

    For example ``sample_size(survivors, "standard_care", 3652.5, endpoint="lung_metastasis").required``
    gives, per explanation and arm, ``hazard_ratio``, ``events`` and ``n_per_arm`` for 80 % power.
    """
    _check_design(alpha, allocation_ratio, power)
    if basis not in ("paired", "trial"):
        raise InputError.field("basis", "must be 'paired' or 'trial'", basis)
    if endpoint not in ENDPOINTS:
        raise InputError.field("endpoint", f"must be one of {list(ENDPOINTS)}", endpoint)
    if isinstance(replicates, bool) or not isinstance(replicates, (int, np.integer)) or replicates < 1:
        raise InputError.field("replicates", "must be a positive whole number", replicates)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError.field("seed", "must be a whole number >= 0", seed)
    for name, sizes in (("n_per_arm", n_per_arm), ("simulate_n_per_arm", simulate_n_per_arm)):
        if sizes is not None and any(isinstance(v, bool) or not float(v).is_integer() or v < 1 for v in sizes):
            raise InputError.field(name, "must be whole numbers >= 1", list(sizes))
    bad = [h for h in hazard_ratios if not (isinstance(h, (int, float)) and h > 0 and math.isfinite(h))]
    if bad:
        raise InputError.field("hazard_ratios", "must be positive numbers", list(hazard_ratios))
    all_arms = check_survivors(survivors, control, follow_up_days)
    chosen = list(arms) if arms is not None else all_arms[1:]
    unknown = [a for a in chosen if a not in all_arms[1:]]
    if unknown or not chosen:
        raise InputError.field("arms", f"must name arms other than the control among {all_arms[1:]}", chosen)
    horizon = float(follow_up_days)
    frame = survivors.assign(arm=survivors["arm"].astype(str), allocated_arm=survivors["allocated_arm"].astype(str))
    pool = frame[frame["arm"] == frame["allocated_arm"]] if basis == "trial" else frame
    notes: list[str] = []
    curve, required = [], []
    explanations = [str(e) for e in pd.unique(frame["explanation"])]
    for e_index, explanation in enumerate(explanations):
        rows = pool[pool["explanation"] == explanation]
        risks = trial_risks(rows, endpoint, [control, *chosen], horizon)
        p_control = risks[control][0]
        for a_index, arm in enumerate(chosen, start=1):
            fit = hazard_ratio(rows, endpoint, control, arm, horizon, alpha, notes,
                               f"{explanation}, {endpoint}, {arm} vs {control}")
            effects = [("simulated", fit["hr"], risks[arm][0])]
            effects += [("assumed (arm risk 1 - (1 - control risk)^HR)", float(h), 1 - (1 - p_control) ** h)
                        for h in hazard_ratios]
            for source, hr, p_arm in effects:
                need = _required(hr, p_control, p_arm, alpha, power, allocation_ratio)
                required.append({"explanation": explanation, "endpoint": endpoint, "arm": arm, "basis": basis,
                                 "source": source,
                                 "hazard_ratio": hr, "control_risk": p_control, "arm_risk": p_arm, **need})
                sizes = _sizes(n_per_arm, need["n_per_arm"], len(rows[rows["arm"] == control]))
                simulated = set()
                if source == "simulated":
                    # the bootstrap check runs by default only at sizes a bootstrap can afford
                    default = [need["n_per_arm"]] if need["n_per_arm"] <= MAX_SIMULATED_PER_ARM else []
                    simulated = {int(v) for v in (simulate_n_per_arm if simulate_n_per_arm is not None else default)}
                    sizes = sorted(set(sizes) | simulated)
                for n in sizes:
                    events = n * p_control + allocation_ratio * n * p_arm
                    row = {"explanation": explanation, "endpoint": endpoint, "arm": arm, "basis": basis,
                           "source": source,
                           "hazard_ratio": hr, "control_risk": p_control, "arm_risk": p_arm, "n_per_arm": int(n),
                           "n_arm": int(round(allocation_ratio * n)), "events": events,
                           "power_formula": schoenfeld_power(events, hr, alpha, allocation_ratio),
                           "power_simulation": math.nan, "power_simulation_se": math.nan, "replicates": 0}
                    if n in simulated:
                        rng = np.random.default_rng([seed, e_index, a_index, int(n)])
                        hits = _bootstrap_power(rows, endpoint, control, arm, int(n),
                                                int(round(allocation_ratio * n)), horizon, alpha, replicates, rng)
                        share = hits / replicates
                        row.update(power_simulation=share, replicates=replicates,
                                   power_simulation_se=math.sqrt(share * (1 - share) / replicates))
                    curve.append(row)
    settings = {"control": control, "endpoint": endpoint, "follow_up_days": horizon, "alpha": float(alpha),
                "power": float(power), "allocation_ratio": float(allocation_ratio), "replicates": int(replicates),
                "seed": int(seed), "basis": basis, "test": "two-sided Wald test of the cause-specific Cox coefficient",
                "events_formula": "Schoenfeld (1983)",
                "participants": "events / simulated probability of the endpoint over follow-up"}
    return SampleSize(curve=pd.DataFrame(curve), required=pd.DataFrame(required), settings=settings,
                      notes=tuple(dict.fromkeys(notes)))


def _required(hr: float, p_control: float, p_arm: float, alpha: float, power: float, ratio: float
              ) -> dict[str, float]:
    if not (math.isfinite(hr) and hr > 0):
        return {"events": math.nan, "event_probability": math.nan, "participants": math.nan, "n_per_arm": math.nan}
    events = schoenfeld_events(hr, alpha, power, ratio)
    probability = (p_control + ratio * p_arm) / (1 + ratio)
    total = participants_for_events(events, probability)
    n = math.ceil(total / (1 + ratio)) if math.isfinite(total) else math.inf
    return {"events": events, "event_probability": probability, "participants": total, "n_per_arm": n}


def _sizes(given: Sequence[int] | None, required: float, available: int) -> list[int]:
    if given is not None:
        return sorted({int(v) for v in given})
    base = required if math.isfinite(required) else max(available, 1)
    return sorted({max(1, int(round(base * m))) for m in _CURVE_MULTIPLES})


def _bootstrap_power(rows: pd.DataFrame, endpoint: str, control: str, arm: str, n_control: int, n_arm: int,
                     horizon: float, alpha: float, replicates: int, rng: np.random.Generator) -> int:
    """Replicate trials drawn with replacement from each arm's allocated survivors; count p < alpha."""
    pools = {}
    for name in (control, arm):
        time, code = endpoint_events(rows[rows["arm"] == name], endpoint, horizon)
        pools[name] = (time, code)
    if not len(pools[control][0]) or not len(pools[arm][0]):
        return 0
    hits = 0
    in_arm = np.concatenate([np.zeros(n_control), np.ones(n_arm)])
    cause = None if endpoint == "death" else 1
    for _ in range(replicates):
        pick_c = rng.integers(0, len(pools[control][0]), n_control)
        pick_a = rng.integers(0, len(pools[arm][0]), n_arm)
        data = pd.DataFrame({"time": np.concatenate([pools[control][0][pick_c], pools[arm][0][pick_a]]),
                             "event": np.concatenate([pools[control][1][pick_c], pools[arm][1][pick_a]]),
                             "in_arm": in_arm})
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                fit = CoxPH(alpha=alpha).fit(data, stop="time", event="event", covariates=["in_arm"], cause=cause)
            p = float(fit.summary.loc["in_arm", "p"])
        except SurvivalDataError:  # no event in the replicate: nothing detected
            continue
        hits += bool(p < alpha)
    return hits
