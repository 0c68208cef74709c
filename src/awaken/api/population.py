"""Virtual populations of the lung model from Python: the twin of ``awaken population``.

Example
-------
>>> import awaken
>>> pop = awaken.simulate_population("influenza", n=8, seed=1, output_days=[0, 15, 28])
>>> sorted(pop.readouts["day"].unique().tolist()), pop.accepted
([0.0, 15.0, 28.0], 8)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from awaken.experiments.catalogue import resolve_experiment
from awaken.experiments.protocol import Experiment
from awaken.runs.directory import RunDirectory
from awaken.runs.execution import solver_threads
from awaken.runs.progress import ProgressFactory, progress_bars
from awaken.runs.provenance import python_call
from awaken.solvers.settings import DEFAULT_OUTPUT_DAYS, DEFAULT_RTOL
from awaken.solvers.virtual_population import (
    PhysiologicalEnvelope,
    Population,
    check_population,
)
from awaken.solvers.virtual_population import simulate_population as _simulate

__all__ = ["simulate_population", "PhysiologicalEnvelope", "Population"]


def simulate_population(experiment: str | Path | Experiment, n: int, seed: int = 0,
                        output_days: Sequence[float] = DEFAULT_OUTPUT_DAYS, days: float | None = None,
                        envelope: PhysiologicalEnvelope | bool | None = True, variability: bool = True,
                        rtol: float = DEFAULT_RTOL, threads: int | None = None, *, out: str | Path | None = None,
                        overwrite: bool = False, progress: bool | ProgressFactory = False,
                        command: list[str] | None = None) -> Population:
    """``n`` accepted individuals of ``experiment`` through the fast solver, read out at ``output_days``.

    Individuals are drawn around the calibrated values and, with ``envelope`` (True: the default
    :class:`PhysiologicalEnvelope`; False or None: accept everyone), kept only if they stay inside
    it. ``threads`` limits the solver's threads (default: every core). With ``out``, writes
    ``readouts.parquet`` (individual x day x read-outs), ``parameters.parquet``,
    ``population.json`` (acceptance, solver settings) and ``run.json``, streaming the individuals to
    disk batch by batch; the returned population then reads its tables from there when asked.
    """
    chosen = resolve_experiment(experiment)
    envelope = PhysiologicalEnvelope() if envelope is True else (envelope or None)
    checked = check_population(chosen, n, output_days, days, seed, rtol, variability)
    days_out, end = list(checked.output_days), checked.end
    run = None if out is None else RunDirectory(
        out, kind="population", seed=seed, scenarios=[chosen], overwrite=overwrite,
        settings={"n": n, "output_days": days_out, "days": end, "rtol": rtol, "variability": variability,
                  "envelope": envelope.model_dump(mode="json") if envelope else None, "threads": threads},
        command=command or python_call("simulate_population", experiment=chosen.name, n=n, seed=seed, out=out))
    with solver_threads(threads), progress_bars(progress) as bar:
        advance = bar(f"{chosen.name} population", total=n, unit="individuals")
        if run is None:
            return _simulate(chosen, n=n, seed=seed, output_days=days_out, days=end, envelope=envelope,
                             variability=variability, rtol=rtol, progress=advance)
        with run, run.parquet_stream("readouts.parquet") as readouts, \
                run.parquet_stream("parameters.parquet") as parameters:
            # Accepted batches go to disk as they are simulated: memory does not grow with n.
            population = _simulate(chosen, n=n, seed=seed, output_days=days_out, days=end, envelope=envelope,
                                   variability=variability, rtol=rtol, progress=advance,
                                   sink=lambda rows, params: (readouts(rows), parameters(params)))
            summary = {"experiment": chosen.name, "n": population.accepted, "candidates": population.candidates,
                       "acceptance_rate": population.acceptance_rate,
                       "envelope": envelope.model_dump(mode="json") if envelope else None,
                       "output_days": days_out, "rtol": population.rtol,
                       "mean_accepted_steps": population.steps_mean}
            run.write_json("population.json", summary)
            run.results = summary
    return replace(population, stored=run.destination)
