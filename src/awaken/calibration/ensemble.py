"""The calibrated parameter ensemble: what it predicts and how much of it passes each target.

An ensemble is a table with one row per member and one column per fitted parameter (linear
values; ``awaken fit`` writes it as ``ensemble.parquet``). The shipped one,
``awaken/calibration/data/mouse_ensemble.parquet``, was produced by the command recorded next to
it in ``mouse_ensemble.json``. Each member is simulated as a typical mouse (no inter-individual
variability) with the fast solver.

Example
-------
>>> members = load_ensemble().head(3)
>>> members_run = simulate_members(members, ["pbs", "influenza"], days=15)
>>> len(members_run.runs) + members_run.rejected
3
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from awaken.calibration.likelihood import WHOLE_LUNG_DCC_CEILING
from awaken.calibration.petab_problem import fitted_parameters
from awaken.solvers.batch import TypicalResult, run_typical
from awaken.solvers.fast import FastSolverError
from awaken.scorecard import score

__all__ = ["load_ensemble", "ensemble_provenance", "simulate_members", "MemberRuns", "pass_fractions", "Band", "bands",
           "SHIPPED_ENSEMBLE", "BAND_QUANTILES"]

SHIPPED_ENSEMBLE = "mouse_ensemble.parquet"
#: The ensemble band drawn in the report: the central 90 % of members.
BAND_QUANTILES = (0.05, 0.95)


def _shipped() -> Path:
    return Path(str(resources.files("awaken.calibration") / "data" / SHIPPED_ENSEMBLE))


def load_ensemble(path: str | Path | None = None) -> pd.DataFrame:
    """An ensemble table (default: the shipped one). Refuses tables that lack a fitted parameter
    or carry a parameter the model does not have."""
    path = Path(path) if path is not None else _shipped()
    if not path.is_file():
        raise FileNotFoundError(f"no ensemble at {path}")
    frame = pd.read_parquet(path)
    names = [p.name for p in fitted_parameters()]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise ValueError(f"ensemble {path} lacks fitted parameter(s) {', '.join(missing)}")
    extra = [c for c in frame.columns if c not in (*names, "member", "cost")]
    if extra:
        raise ValueError(f"ensemble {path} has unknown column(s) {', '.join(extra)}")
    return frame


def ensemble_provenance(path: str | Path | None = None) -> dict[str, Any]:
    """The provenance stored next to an ensemble (``<name>.json``), or an empty dict."""
    path = Path(path) if path is not None else _shipped()
    meta = path.with_suffix(".json")
    return json.loads(meta.read_text()) if meta.is_file() else {}


@dataclass(frozen=True)
class MemberRuns:
    """Ensemble members simulated, and which were kept.

    A member is kept when every experiment integrates to the end of the run and its whole-lung DCC
    number stays below :data:`~awaken.calibration.likelihood.WHOLE_LUNG_DCC_CEILING` at every
    output day - the physiological envelope, applied as Jenner et al. 2021 applied theirs to
    virtual patients. The fit's prior only sees the first 28 days; this check sees the whole run.
    """

    runs: list[dict[str, TypicalResult]]
    kept: list[int]  # row positions in the ensemble table
    failed: int  # members whose integration failed (runaway growth)
    above_ceiling: int  # members beyond the physiological ceiling

    @property
    def rejected(self) -> int:
        return self.failed + self.above_ceiling


def simulate_members(ensemble: pd.DataFrame, experiments: Sequence[str], days: float,
                     output_days: Sequence[float] | None = None) -> MemberRuns:
    """Every member's typical mouse in every experiment, screened by the physiological envelope."""
    names = [p.name for p in fitted_parameters()]
    sets = [{n: float(row[n]) for n in names} for _, row in ensemble.iterrows()]
    try:
        runs: list[dict[str, TypicalResult] | None] = list(run_typical(experiments, sets, days=days,
                                                                       output_days=output_days))
    except FastSolverError:
        runs = []
        for values in sets:
            try:
                runs.extend(run_typical(experiments, [values], days=days, output_days=output_days))
            except FastSolverError:
                runs.append(None)
    failed = sum(r is None for r in runs)
    kept, above = [], 0
    for i, r in enumerate(runs):
        if r is None:
            continue
        if max(float(np.max(x.readouts["dcc_total"])) for x in r.values()) > WHOLE_LUNG_DCC_CEILING:
            above += 1
            continue
        kept.append(i)
    return MemberRuns(runs=[runs[i] for i in kept], kept=kept, failed=failed, above_ceiling=above)


def pass_fractions(member_results: Sequence[Mapping[str, TypicalResult]]) -> dict[str, float]:
    """Fraction of members that pass each mouse target (targets the runs cannot score are left out)."""
    counts: dict[str, list[bool]] = {}
    for results in member_results:
        for s in score(results):
            if s.passed is not None:
                counts.setdefault(s.id, []).append(bool(s.passed))
    return {k: float(np.mean(v)) for k, v in counts.items()}


@dataclass(frozen=True)
class Band:
    """Quantiles of one read-out of one experiment over the ensemble, per day."""

    days: np.ndarray
    low: np.ndarray
    median: np.ndarray
    high: np.ndarray


def bands(member_results: Sequence[Mapping[str, TypicalResult]], columns: Sequence[str],
          quantiles: tuple[float, float] = BAND_QUANTILES) -> dict[tuple[str, str], Band]:
    """``{(experiment, read-out): Band}`` over the members."""
    out = {}
    first = member_results[0]
    for name, result in first.items():
        for column in columns:
            stack = np.stack([np.asarray(r[name].readouts[column]) for r in member_results])
            low, median, high = np.quantile(stack, [quantiles[0], 0.5, quantiles[1]], axis=0)
            out[(name, column)] = Band(result.days, low, median, high)
    return out
