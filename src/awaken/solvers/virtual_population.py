"""Virtual populations: many individuals of one experiment, drawn, screened and simulated fast.

Individuals are drawn log-normally around the calibrated values exactly as the virtual experiments
draw mice (:func:`awaken.lung.parameters.draw_columns`, the same numbers as ``draw_individuals``:
candidate ``i`` depends only on ``(seed, i)``), run through the experiment's schedule by the compiled
:class:`~awaken.solvers.fast.FastSolver`, and - in the style of Jenner et al. 2021 (PLOS Pathog
17:e1009753), who kept only virtual patients whose trajectories stayed inside physiological ranges
- accepted only if they stay inside a :class:`PhysiologicalEnvelope`. Candidates are screened in
order and the first ``n`` accepted are kept, so the population does not depend on batch sizes or
thread counts; the acceptance rate is reported.

A batch is handled as arrays from end to end - drawn a column per parameter, one schedule for the
batch (the inoculum an array), screened on the envelope's two read-outs, read out only for the
accepted individuals on the read-out days - so that the command runs at the pace of its compiled
kernel (``docs/performance.md``); accepted batches can be handed to a ``sink`` (a Parquet stream)
instead of being kept.

Example
-------
>>> from awaken.solvers.virtual_population import simulate_population
>>> pop = simulate_population("influenza", n=4, seed=1, output_days=[0, 15, 28])
>>> sorted(pop.readouts["day"].unique().tolist())
[0.0, 15.0, 28.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from awaken.errors import InputError
from awaken.experiments.catalogue import resolve_experiment
from awaken.experiments.protocol import MAX_DAYS, Experiment
from awaken.experiments.results import VIRUS_DETECTION_LIMIT
from awaken.lung.parameters import draw_columns, load_parameter_table
from awaken.schemas import Real, validate
from awaken.solvers.fast import BatchResult, FastSolver
from awaken.solvers.schedule import animal_setup
from awaken.solvers.settings import DEFAULT_OUTPUT_DAYS, DEFAULT_RTOL, MAX_INDIVIDUALS, PopulationSettings

__all__ = ["PhysiologicalEnvelope", "Population", "simulate_population", "check_population", "DEFAULT_OUTPUT_DAYS",
           "MAX_INDIVIDUALS", "BATCH_SIZE"]

#: Candidates drawn, simulated and screened together; measured (docs/performance.md): large enough
#: that the two threads' chunks stay busy, small enough that a batch's states on the envelope's
#: quarter-day grid (batch x 481 days x 20 states) stay well under the memory goal.
BATCH_SIZE = 2048


class PhysiologicalEnvelope(BaseModel):
    """Bounds an infected individual's trajectory must stay inside to be accepted.

    The defaults are ours, for sublethal mouse influenza, and deliberately wide: they remove
    individuals whose draw leaves a persistent infection or an implausible IL-6 response, not the
    tails of a normal one. Measured on 200 drawn influenza mice (seed 1): the titre falls below
    10/mL for the last time on day 8.5 (median; range 7 to 28.5, the latter a persisting infection),
    and the IL-6 peak is 260-750 pg/mL - the hundreds of pg/mL reported for PR8 lavage (Hennet et
    al. 1992, J Immunol 149:932; the source of ``il6_per_infected_cell``). Uninfected individuals
    are always accepted.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    virus_cleared_by_day: Real = Field(14.0, gt=0, le=MAX_DAYS, json_schema_extra={"unit": "d after infection"},
                                        description="titre must be below the detection limit from this day on "
                                                    "(plausible 10-21)")
    virus_detection_limit: Real = Field(VIRUS_DETECTION_LIMIT, gt=0, json_schema_extra={"unit": "infectious unit/mL"},
                                         description="TCID50/plaque assays of lung homogenate detect about 10/mL "
                                                     "(the scorecard's limit)")
    il6_peak_range: tuple[Real, Real] = Field((20.0, 5000.0), json_schema_extra={"unit": "pg/mL"},
                                                description="allowed range of the peak lavage IL-6 after infection")

    @model_validator(mode="after")
    def _ordered(self) -> PhysiologicalEnvelope:
        lo, hi = self.il6_peak_range
        if not 0 <= lo < hi:
            raise ValueError(f"il6_peak_range = [{lo}, {hi}] must satisfy 0 <= low < high")
        return self

    def accepts(self, days: np.ndarray, virus: np.ndarray, il6: np.ndarray, infection_day: float | None) -> np.ndarray:
        """Which individuals (rows of ``virus``/``il6``, columns = ``days``, sorted) are inside the envelope."""
        if infection_day is None:
            return np.ones(virus.shape[0], dtype=bool)
        # ``days`` are sorted: "from day d on" is a slice.
        after = int(np.searchsorted(days, infection_day))
        peak = il6[:, after:].max(axis=1) if after < days.size else il6[:, -1]
        lo, hi = self.il6_peak_range
        ok = (peak >= lo) & (peak <= hi)
        late = int(np.searchsorted(days, infection_day + self.virus_cleared_by_day))
        if late < days.size:
            ok &= (virus[:, late:] < self.virus_detection_limit).all(axis=1)
        return ok


@dataclass(frozen=True)
class Population:
    """A simulated virtual population.

    ``readouts``: one row per individual and output day. ``parameters``: one row per accepted
    individual (``individual`` is its candidate index, so it can be re-simulated alone). A
    population streamed to a run directory (``stored``) reads them from its Parquet files when first
    asked for, so that millions of individuals never sit in memory together.
    """

    experiment: Experiment
    candidates: int
    accepted: int
    envelope: PhysiologicalEnvelope | None
    steps_mean: float
    rtol: float
    stored: Path | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / self.candidates if self.candidates else math.nan

    @property
    def readouts(self) -> pd.DataFrame:
        return self._table("readouts")

    @property
    def parameters(self) -> pd.DataFrame:
        return self._table("parameters")

    def _table(self, name: str) -> pd.DataFrame:
        if name not in self.tables:
            if self.stored is None:
                raise ValueError(f"this population's {name} were streamed elsewhere and not kept")
            self.tables[name] = pd.read_parquet(self.stored / f"{name}.parquet")
        return self.tables[name]


#: One accepted batch: the rows of ``readouts.parquet`` and of ``parameters.parquet``, column by column.
Columns = dict[str, np.ndarray]


def _screening_days(scenario: Experiment, output_days: np.ndarray, envelope: PhysiologicalEnvelope | None,
                    end: float) -> np.ndarray:
    days = set(output_days.tolist())
    if envelope is not None and scenario.virus is not None:
        start = scenario.virus.day
        days.update(np.arange(start, end + 1e-9, 0.25).tolist())
    return np.array(sorted(d for d in days if 0 <= d <= end))


def check_population(experiment: Experiment, n: int, output_days: Sequence[float], days: float | None = None,
                     seed: int = 0, rtol: float = DEFAULT_RTOL, variability: bool = True) -> PopulationSettings:
    """Check a population's settings before any work (:class:`PopulationSettings`, and the infection
    inside the run); raises :class:`~awaken.errors.InputError` naming the field."""
    try:
        output = tuple(output_days)
    except TypeError:
        raise InputError.field("output_days", "give a list of days, e.g. [0, 15, 28]", output_days) from None
    settings = validate({"n": n, "seed": seed, "output_days": output, "days": days, "rtol": rtol,
                         "variability": variability}, PopulationSettings)
    if experiment.virus is not None and experiment.virus.day >= settings.end:
        raise InputError.field("output_days", f"the last day ({settings.end:g}) must come after the infection "
                                              f"(day {experiment.virus.day:g})", list(output))
    return settings


def simulate_population(experiment: str | Path | Experiment, n: int, seed: int = 0,
                        output_days: Sequence[float] = DEFAULT_OUTPUT_DAYS, days: float | None = None,
                        envelope: PhysiologicalEnvelope | None = None, variability: bool = True,
                        rtol: float = DEFAULT_RTOL, max_candidates: int | None = None,
                        progress: Callable[[int], None] | None = None,
                        sink: Callable[[Columns, Columns], None] | None = None,
                        batch_size: int = BATCH_SIZE) -> Population:
    """``n`` individuals of ``experiment`` with read-outs at ``output_days``.

    ``days`` (default: the last output day) is the run length; ``envelope`` screens candidates
    (``None``: accept all); ``max_candidates`` (default ``20 n``) stops a screen that accepts too
    few. ``progress(k)`` is called with the number of individuals accepted in each batch. With
    ``sink``, every accepted batch's read-outs and parameters are handed to ``sink(readouts,
    parameters)`` in order and not kept (the caller streams them to disk). Candidates are drawn,
    simulated and screened ``batch_size`` at a time; the result does not depend on it.
    """
    scenario = resolve_experiment(experiment)
    settings = check_population(scenario, n, output_days, days, seed, rtol, variability)
    out, end = np.asarray(settings.output_days, dtype=float), settings.end
    max_candidates = max_candidates or 20 * n
    solver = FastSolver(rtol=rtol)
    table = load_parameter_table(scenario.species)
    screen = _screening_days(scenario, out, envelope, end)
    kept = np.isin(screen, out)  # every state on the read-out days; the envelope's two on the whole grid
    picked = ["virus_titer", "il6_pg_per_ml"] if envelope is not None else []
    infection_day = scenario.virus.day if scenario.virus is not None else None

    batches: list[tuple[Columns, Columns]] = []
    accepted = candidates = steps = 0
    while accepted < n:
        if candidates >= max_candidates:
            raise InputError(f"only {accepted} of {candidates} candidates stayed inside the envelope "
                              f"(acceptance {accepted / candidates:.1%}); widen the envelope or raise max_candidates")
        wanted = n - accepted
        if envelope is not None and candidates:
            wanted = math.ceil(wanted / max(accepted / candidates, 0.05) * 1.1) + 8
        size = min(batch_size, wanted, max_candidates - candidates)
        draws = draw_columns(table, scenario.virus_kind, size, seed, scenario.parameters, variability=variability,
                             start=candidates)
        # One setup for the whole batch: the infection's eclipse-phase cells are an array (dose x each
        # individual's inoculum infectivity), everything else is shared.
        params, controls, events = animal_setup(scenario, draws)
        result, screened = solver.screen_columns({**params, **controls}, size, [e for e in events if e.day < end],
                                                 end, screen, kept, picked)
        ok = np.ones(size, dtype=bool) if envelope is None else envelope.accepts(
            screen, screened["virus_titer"], screened["il6_pg_per_ml"], infection_day)
        chosen = np.flatnonzero(ok)[: n - accepted]
        if chosen.size:
            batch = _accepted_rows(result, params, candidates, chosen)
            if sink is None:
                batches.append(batch)
            else:
                sink(*batch)
            steps += int(result.steps[chosen].sum())
        accepted += chosen.size
        # Candidates screened: the whole batch, or up to the last one used when the population is full.
        candidates += size if accepted < n or not chosen.size else int(chosen[-1]) + 1
        if progress is not None and chosen.size:
            progress(int(chosen.size))
    tables = {} if sink is not None else {
        name: pd.DataFrame({column: np.concatenate([batch[k][column] for batch in batches])
                            for column in batches[0][k]})
        for k, name in enumerate(("readouts", "parameters"))}
    return Population(experiment=scenario, candidates=candidates, accepted=accepted, envelope=envelope,
                      steps_mean=steps / accepted, rtol=rtol, tables=tables)


def _accepted_rows(result: BatchResult, params: dict[str, np.ndarray | float], first: int, chosen: np.ndarray
                   ) -> tuple[Columns, Columns]:
    """The table rows of the accepted candidates ``first + chosen``: read-outs (individual x day) and parameters."""
    individual = (first + chosen).astype(np.int64)
    days = result.days
    readouts: Columns = {"individual": np.repeat(individual, days.size), "day": np.tile(days, chosen.size)}
    for name, values in result.readouts_of(chosen, np.arange(days.size)).items():
        readouts[name] = values.ravel()
    parameters: Columns = {"individual": individual}
    for name, values in params.items():
        column = np.asarray(values, dtype=float)
        parameters[name] = column[chosen] if column.ndim else np.full(chosen.size, float(column))
    return readouts, parameters
