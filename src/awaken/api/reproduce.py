"""The flagship: every virtual experiment of the study, the scorecard, a cohort, figures and a report.

``awaken reproduce`` and :func:`reproduce` run every shipped experiment, simulate the report's
cohort twice (with and without the pandemic, the same people), run the study's two designs on it,
score every target of ``targets.yaml``, simulate the calibration ensemble through the experiments
for its uncertainty bands, and write one run directory::

    run.json                   provenance
    report.html                self-contained report
    scorecard.json             targets with bands, simulated values and pass/fail
    ensemble_scores.json       fraction of the calibration ensemble passing each target
    tables/timecourse.parquet  group means per experiment and day
    tables/per_mouse.parquet   every mouse, day, read-out and state
    tables/parameters.parquet  every mouse's parameter values
    cohort/<arm>/              the cohort's EHR-shaped tables; cohort/analyses.json the two designs
    figures/*.png, *.svg

Example
-------
>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     run = reproduce(pathlib.Path(tmp) / "demo", mice=1, days=28, engine="fast", ensemble=False, survivors=0)
...     print(run.report.name, len(run.scorecard.mouse), run.scorecard.failed("mouse"))
report.html 11 []
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from awaken.api.experiments import _engine, experiment_tables, write_experiment_report
from awaken.api.settings import ReproduceSettings
from awaken.calibration.ensemble import load_ensemble, summarise_ensemble
from awaken.experiments.catalogue import (
    list_experiments,
    load_experiment,
    with_overrides,
)
from awaken.experiments.results import GroupResult, check_result
from awaken.runs.directory import RunDirectory
from awaken.runs.progress import ProgressFactory, progress_bars
from awaken.runs.provenance import python_call
from awaken.schemas import validate
from awaken.scorecard import Scorecard, score

__all__ = ["Reproduction", "ReproduceSettings", "reproduce"]

_INTRO = ("A virtual reproduction of the mouse experiments of Chia et al., Nature 645:496 (2025): {groups} groups "
          "of {mice} MMTV-Her2 (or wild-type) mice, simulated for {days} days with awaken's within-host lung model, "
          "scored against every published observation.")


@dataclass(frozen=True)
class Reproduction:
    """Where the flagship was written and what it found."""

    path: Path
    results: dict[str, GroupResult]
    scorecard: Scorecard

    @property
    def report(self) -> Path:
        return self.path / "report.html"


def reproduce(out: str | Path, *, mice: int = 4, seed: int = 0, days: int = 365, engine: str = "reference",
              ensemble: bool | str | Path = True, survivors: int = 100_000, overwrite: bool = False,
              progress: bool | ProgressFactory = False, command: list[str] | None = None) -> Reproduction:
    """Run every virtual experiment of the study, score the targets, write the run directory ``out``.

    ``ensemble``: True for the shipped calibration ensemble, a path for another ``ensemble.parquet``,
    False for none; it adds dashed uncertainty bands to the figures and the fraction of members
    passing each target. ``survivors``: size of the report's cohort (0 leaves the section out).
    """
    settings = validate({"mice": mice, "seed": seed, "days": days, "survivors": survivors, "engine": engine},
                        ReproduceSettings)
    ensemble_path = None if isinstance(ensemble, bool) else Path(ensemble)
    if ensemble_path is not None:
        load_ensemble(ensemble_path)  # a bad file is refused before any work
    experiments = [with_overrides(load_experiment(n), days=days, seed=seed, mice=mice) for n in list_experiments()]
    run = RunDirectory(out, kind="reproduce", seed=seed, scenarios=experiments, overwrite=overwrite,
                       settings={**settings.model_dump(), "ensemble": str(ensemble_path) if ensemble_path else ensemble},
                       command=command or python_call("reproduce", out=out, mice=mice, seed=seed, days=days))
    run_engine = _engine(engine)
    with progress_bars(progress) as bar, run:
        advance = bar(f"{len(experiments)} experiments", total=len(experiments) * mice, unit="mice")
        results = {e.name: check_result(run_engine(e, advance)) for e in experiments}
        cohort = _cohort_section(run, survivors, seed, bar) if survivors else None
        scorecard = Scorecard(tuple(score(results, human=cohort[1] if cohort else None)))
        summary = None
        if ensemble is not False:
            summary = summarise_ensemble(ensemble_path, list_experiments(), days)
            run.write_json("ensemble_scores.json", {"members": summary.members, "rejected_by_envelope": summary.rejected,
                                                    "source": summary.source, "command": summary.command,
                                                    "pass_fractions": summary.fractions})
        from awaken.report.flagship import lung_figures

        tables = experiment_tables(results)
        for name, frame in tables.items():
            run.write_parquet(f"tables/{name}.parquet", frame)
        figures = lung_figures(run, results, summary.bands if summary else None)
        write_experiment_report(
            run, results, figures, title="awaken: respiratory viral infections awaken dormant breast cancer cells in "
                                         "the lung",
            intro=_INTRO.format(groups=len(results), mice=mice, days=days), tables=list(tables), engine=engine,
            scorecard=scorecard, ensemble=summary, cohort=cohort[0] if cohort else None)
    return Reproduction(path=Path(out), results=results, scorecard=scorecard)


#: Posterior members the flagship runs its cohort under (each: both arms' cancer course and records).
_POSTERIOR_MEMBERS = 10


def _cohort_section(run: RunDirectory, survivors: int, seed: int, bar: ProgressFactory):
    """The same ``survivors`` with and without the pandemic into ``cohort/<arm>/``, the two designs on the
    pandemic arm into ``cohort/analyses.json``; returns the report's section and the human target values."""
    from awaken.calibration.explanations import lung_share_measures
    from awaken.calibration.predictions import predict
    from awaken.cohort.parameters import CohortScenario
    from awaken.cohort.run import run_cohort
    from awaken.cohort.summary import lung_summary
    from awaken.records import load_records, read_cohort
    from awaken.report.flagship import cohort_section
    from awaken.studies.flatiron import flatiron_analysis
    from awaken.studies.ukb import human_targets, ukb_analysis

    base = CohortScenario()
    arms = {"pandemic": base, "no_pandemic": base.model_copy(update={"pandemic": False, "name": "no_pandemic"})}
    tables = {}
    for arm, scenario in arms.items():
        advance = bar(f"cohort, {arm.replace('_', ' ')}", total=survivors, unit="people")
        cohort = run_cohort(scenario, n=survivors, seed=seed, out=run.path / "cohort" / arm, executor="inline",
                            progress=advance, command=run.command)
        tables[arm] = read_cohort(cohort.out)
    records = load_records(run.path / "cohort" / "pandemic")
    ukb, flatiron = ukb_analysis(records), flatiron_analysis(records)
    run.write_json("cohort/analyses.json", {"ukb": ukb.to_dict(), "flatiron": flatiron.to_dict()})
    members = bar("posterior ensemble (both arms)", total=_POSTERIOR_MEMBERS, unit="members")
    predictions = predict(survivors, seed, members=_POSTERIOR_MEMBERS, scenario=base, progress=members)
    run.write_parquet("cohort/predictions.parquet", predictions.members)
    run.write_parquet("cohort/excess_by_path.parquet", predictions.excess.reset_index())
    section = cohort_section(run, base, survivors, seed, tables, ukb, flatiron,
                             lung_summary(tables["pandemic"]["infections"]), predictions)
    return section, {**human_targets(ukb), **lung_share_measures(records)}
