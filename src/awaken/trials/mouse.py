"""Virtual mouse trials: when must a drug start to stop the awakening? The window of opportunity.

The study's influenza experiment (:mod:`awaken.experiments.catalogue`, ``influenza``) with a drug arm
started on each day of ``start_days``: MR16-1 (anti-mouse IL-6R, 0.5 mg i.p. weekly; Mihara et al.
1998), oseltamivir (20 mg/kg twice daily for 5 days, its effect from Kamal et al. 2015 at the
human-equivalent dose) and anti-CD4 (GK1.5 to the end). The effect is the HER2+ DCC count (the
three-section read-out) of the treated group over the untreated group at each read day, with two
kinds of spread: **the mice's** (the 10th-90th percentile of each mouse's ratio to itself untreated:
the same mice, common random numbers) and **the ensemble's** (the 5th-95th percentile of the ratio
over members of the calibrated parameter ensemble, :mod:`awaken.calibration.ensemble`, each run as a
typical mouse).

Example
-------
>>> w = window_of_opportunity(drugs=("mr16_1",), start_days=(0, 9), read_days=(28,), mice=2, members=2)
>>> list(w.columns)[:4]
['drug', 'start_day', 'read_day', 'effect']
>>> bool(w.set_index("start_day").loc[0, "effect"] < w.set_index("start_day").loc[9, "effect"])
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from awaken.calibration.ensemble import load_ensemble
from awaken.errors import InputError
from awaken.experiments.catalogue import load_experiment
from awaken.experiments.protocol import Experiment
from awaken.lung.parameters import fitted_parameters
from awaken.solvers.batch import run_group_fast, run_typical

__all__ = ["WINDOW_ARMS", "window_experiment", "window_of_opportunity"]

#: The drug arms of the window: name -> the treatment (without its start day).
WINDOW_ARMS: dict[str, dict] = {
    "mr16_1": {"kind": "drug", "drug": "mr16_1", "dose": 0.5, "route": "ip", "doses": 9, "interval_days": 7.0},
    "oseltamivir": {"kind": "drug", "drug": "oseltamivir_mouse", "dose": 20.0, "route": "oral", "doses": 10,
                    "interval_days": 0.5},
    "anti_cd4": {"kind": "anti_cd4"},
}


def window_experiment(drug: str | None, start_day: float, days: int, mice: int, seed: int,
                      base: str = "influenza") -> Experiment:
    """The ``base`` experiment with ``drug`` (a key of :data:`WINDOW_ARMS`) from ``start_day``."""
    spec = load_experiment(base).model_dump()
    spec.update(name=f"{base}_{drug or 'untreated'}_from_{start_day:g}".replace(".", "_"), days=days, mice=mice,
                seed=seed)
    if drug is not None:
        spec["treatments"] = [*spec.get("treatments", []), {**WINDOW_ARMS[drug], "start_day": float(start_day)}]
    return Experiment.model_validate(spec)


def window_of_opportunity(drugs: Sequence[str] = tuple(WINDOW_ARMS), start_days: Sequence[float] = tuple(range(15)),
                          read_days: Sequence[int] = (15, 28, 60), mice: int = 8, members: int = 20, seed: int = 0,
                          base: str = "influenza") -> pd.DataFrame:
    """One row per (drug, start day, read day): ``effect`` (treated / untreated group-mean DCC count),
    ``mouse_low``/``mouse_high`` and ``ensemble_low``/``ensemble_high`` (see the module docstring)."""
    unknown = [d for d in drugs if d not in WINDOW_ARMS]
    if unknown:
        raise InputError.field("drugs", f"choose from {', '.join(WINDOW_ARMS)}", ", ".join(unknown))
    days = int(max(read_days)) + 1
    reads = np.asarray(read_days, dtype=float)

    def counts(experiment: Experiment) -> np.ndarray:  # (mice, read days)
        frame = run_group_fast(experiment).per_mouse
        table = frame.pivot(index="mouse", columns="day", values="dcc_count")
        return table[reads].to_numpy()

    untreated = counts(window_experiment(None, 0, days, mice, seed, base))
    experiments = [(d, s, window_experiment(d, s, days, mice, seed, base)) for d in drugs for s in start_days]
    ensemble = load_ensemble().head(members)
    names = [p.name for p in fitted_parameters()]
    sets = [{n: float(row[n]) for n in names} for _, row in ensemble.iterrows()]
    typical = run_typical([window_experiment(None, 0, days, 1, seed, base), *(e for _, _, e in experiments)], sets,
                          days=days, output_days=np.arange(0.0, days + 1.0))
    rows = []
    for drug, start, experiment in experiments:
        treated = counts(experiment)
        ratio = treated / np.maximum(untreated, 1e-12)
        member_ratio = np.array([[m[experiment.name].at(d, "dcc_count") / max(m[window_experiment(
            None, 0, days, 1, seed, base).name].at(d, "dcc_count"), 1e-12) for d in reads] for m in typical])
        for j, day in enumerate(reads):
            rows.append({"drug": drug, "start_day": float(start), "read_day": int(day),
                         "effect": float(treated[:, j].mean() / max(untreated[:, j].mean(), 1e-12)),
                         "mouse_low": float(np.quantile(ratio[:, j], 0.1)),
                         "mouse_high": float(np.quantile(ratio[:, j], 0.9)),
                         "ensemble_low": float(np.quantile(member_ratio[:, j], 0.05)),
                         "ensemble_high": float(np.quantile(member_ratio[:, j], 0.95))})
    return pd.DataFrame(rows)
