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
from awaken.errors import InputError
from awaken.experiments.results import ExperimentResult
from awaken.lung.parameters import fitted_parameters
from awaken.scorecard import REQUIRED_EXPERIMENTS, score
from awaken.solvers.batch import run_typical
from awaken.solvers.fast import FastSolverError

__all__ = ["load_ensemble", "ensemble_provenance", "simulate_members", "MemberRuns", "pass_fractions", "Band", "bands",
           "EnsembleSummary", "summarise_ensemble", "SHIPPED_ENSEMBLE", "BAND_QUANTILES", "BAND_READOUTS"]

SHIPPED_ENSEMBLE = "mouse_ensemble.parquet"
#: The ensemble band drawn in the report: the central 90 % of members.
BAND_QUANTILES = (0.05, 0.95)


def _shipped() -> Path:
    return Path(str(resources.files("awaken.calibration") / "data" / SHIPPED_ENSEMBLE))


def load_ensemble(path: str | Path | None = None) -> pd.DataFrame:
    """An ensemble table (default: the shipped one). Refuses tables that lack a fitted parameter
    or carry a parameter the model does not have."""
    given = path
    path = Path(path) if path is not None else _shipped()
    if not path.is_file():
        raise InputError.field("ensemble", "no such file (give the ensemble.parquet of an awaken fit run)", given)
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as err:
        raise InputError.field("ensemble", f"cannot read it as Parquet ({err})", given) from None
    names = [p.name for p in fitted_parameters()]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise InputError.field("ensemble", f"lacks fitted parameter(s) {', '.join(missing)}", given)
    extra = [c for c in frame.columns if c not in (*names, "member", "cost")]
    if extra:
        raise InputError.field("ensemble", f"has unknown column(s) {', '.join(extra)}", given)
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

    runs: list[dict[str, ExperimentResult]]
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
        runs: list[dict[str, ExperimentResult] | None] = list(run_typical(experiments, sets, days=days,
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
        if max(float(np.max(x.series("dcc_total"))) for x in r.values()) > WHOLE_LUNG_DCC_CEILING:
            above += 1
            continue
        kept.append(i)
    return MemberRuns(runs=[runs[i] for i in kept], kept=kept, failed=failed, above_ceiling=above)


def pass_fractions(member_results: Sequence[Mapping[str, ExperimentResult]]) -> dict[str, float]:
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


def bands(member_results: Sequence[Mapping[str, ExperimentResult]], columns: Sequence[str],
          quantiles: tuple[float, float] = BAND_QUANTILES) -> dict[tuple[str, str], Band]:
    """``{(experiment, read-out): Band}`` over the members."""
    out = {}
    first = member_results[0]
    for name, result in first.items():
        for column in columns:
            stack = np.stack([r[name].series(column) for r in member_results])
            low, median, high = np.quantile(stack, [quantiles[0], 0.5, quantiles[1]], axis=0)
            out[(name, column)] = Band(result.days, low, median, high)
    return out


#: Read-outs the flagship's figures draw, which get ensemble bands.
BAND_READOUTS = ("dcc_count", "proliferating_fraction", "virus_titer", "il6_pg_per_ml", "neutrophils",
                 "cd4_t_cells", "cd4_aggregate_t_cells", "cd8_t_cells_active")


@dataclass(frozen=True)
class EnsembleSummary:
    """The calibration ensemble through a set of experiments: what the flagship report shows."""

    members: int  # members inside the physiological envelope over the run (the ones scored and drawn)
    rejected: int  # members that left it
    fractions: dict[str, float]  # target id -> fraction of members passing
    bands: dict[tuple[str, str], Band]
    source: str
    command: str


def summarise_ensemble(path: str | Path | None, experiments: Sequence[str], days: int) -> EnsembleSummary:
    """Simulate the ensemble at ``path`` (default: the shipped one) in ``experiments`` for ``days``."""
    members = load_ensemble(path)
    meta = ensemble_provenance(path)
    members_run = simulate_members(members, experiments, days=days)
    if not members_run.runs:
        raise InputError.field("ensemble", f"every member leaves the physiological envelope in {days} d",
                               path or "shipped")
    scored = [{name: r[name] for name in REQUIRED_EXPERIMENTS} for r in members_run.runs]
    return EnsembleSummary(members=len(members_run.runs), rejected=members_run.rejected,
                           fractions=pass_fractions(scored), bands=bands(members_run.runs, BAND_READOUTS),
                           source=str(path) if path is not None else "shipped (awaken/calibration/data)",
                           command=" ".join(meta.get("command", [])) or "unknown")
