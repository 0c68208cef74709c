"""Virtual experiments from Python: list them, check them, run them on an engine, score them.

The twins of ``awaken experiment list``, ``awaken experiment run``, ``awaken validate``,
``awaken targets`` and ``awaken parameters``. Every function checks its input first and raises
:class:`~awaken.errors.InputError` naming the field; with ``out`` it writes a run directory
(tables, figure, report, ``run.json``) that appears complete or not at all.

Example
-------
>>> import awaken
>>> result = awaken.run_experiment("influenza", days=20, seed=1, mice=2)
>>> bool(result.at(15, "dcc_count") > 10 * result.at(0, "dcc_count"))
True
>>> result.timecourse.columns[:3].tolist()
['day', 'dcc_count', 'proliferating_fraction']
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

from awaken.errors import InputError
from awaken.experiments.catalogue import list_experiments, load_experiment, resolve_experiment, with_overrides
from awaken.experiments.protocol import Experiment
from awaken.experiments.results import ExperimentResult, GroupResult, check_result
from awaken.lung.parameters import SPECIES, Parameter, load_parameter_table
from awaken.report.html import format_band, format_value
from awaken.runs.directory import RunDirectory
from awaken.runs.progress import ProgressFactory, progress_bars
from awaken.runs.provenance import python_call
from awaken.schemas import load_model, validate
from awaken.targets import LAST_TARGET_DAY

if TYPE_CHECKING:
    import pandas as pd

    from awaken.scorecard import Scorecard

__all__ = ["ENGINES", "format_band", "format_value", "list_experiments", "load_experiment", "run_experiment", "score_targets", "read_scorecard", "validate_experiment",
           "parameter_table", "experiment_tables", "write_experiment_report"]

#: Engines that run a virtual experiment: name -> the function ``run(experiment, progress) -> result``
#: (``module:function``, imported when first used: the command line starts without loading a solver).
ENGINES: dict[str, str] = {"reference": "awaken.solvers.reference:run_group",
                           "fast": "awaken.solvers.batch:run_group_fast",
                           "tissue": "awaken.tissue.engine:run_group_tissue"}


def _engine(name: str) -> Callable[..., GroupResult]:
    if name not in ENGINES:
        raise InputError.field("engine", f"not an engine; choose one of {', '.join(ENGINES)}", name)
    module, function = ENGINES[name].split(":")
    return getattr(import_module(module), function)


def run_experiment(experiment: str | Path | Experiment, days: int | None = None, seed: int | None = None,
                   mice: int | None = None, *, engine: str = "reference", out: str | Path | None = None,
                   overwrite: bool = False, progress: bool | ProgressFactory = False,
                   command: list[str] | None = None) -> GroupResult:
    """Run a shipped experiment (by name), an experiment file (by path) or an :class:`Experiment`.

    ``days`` (1-3650), ``seed`` and ``mice`` (1-1000) override the experiment's own settings;
    ``engine`` is ``"reference"`` (SciPy Radau, animal by animal), ``"fast"`` (the compiled batch
    solver, same animals) or ``"tissue"`` (a lung section per animal, :mod:`awaken.tissue`). With
    ``out``, the run directory is written too: ``tables/*.parquet``, ``figures/overview.png|svg``,
    ``report.html`` and ``run.json``; the tissue adds ``tissue/`` (images, spatial statistics, a
    movie), ``tables/tissue_agents.parquet`` and, for a run of at least 28 days, ``scorecard.json``
    (the targets scored on sections).

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     result = run_experiment("pbs", days=10, mice=1, engine="fast", out=pathlib.Path(tmp) / "run")
    ...     sorted(p.name for p in (pathlib.Path(tmp) / "run").iterdir())
    ['figures', 'report.html', 'run.json', 'tables']
    """
    chosen = with_overrides(resolve_experiment(experiment), days=days, seed=seed, mice=mice)
    run_engine = _engine(engine)
    run = None if out is None else RunDirectory(
        out, kind="experiment", command=command or python_call("run_experiment", experiment=chosen.name, out=out),
        seed=chosen.seed, scenarios=[chosen], settings={"engine": engine}, overwrite=overwrite)
    with progress_bars(progress) as bar:
        advance = bar(chosen.name, total=chosen.mice, unit="mice")
        if run is None:
            return check_result(run_engine(chosen, advance))
        with run:
            result = check_result(run_engine(chosen, advance))
            tables = experiment_tables({chosen.name: result})
            for name, frame in tables.items():
                run.write_parquet(f"tables/{name}.parquet", frame)
            from awaken.report.flagship import experiment_figures

            figures = experiment_figures(run, result)
            # An engine's own outputs (the tissue's images, spatial statistics, movie, per-agent tables);
            # the tissue is new, so a run that reaches the last target day carries the scorecard on the
            # tissue as well (the targets' experiments, the run's mice and seed, to that day).
            outputs = getattr(result, "write_outputs", None)
            scorecard = None
            if outputs is not None:
                outputs(run)
                if chosen.days >= LAST_TARGET_DAY:
                    scorecard = score_targets(mice=chosen.mice, seed=chosen.seed, days=LAST_TARGET_DAY,
                                              engine=engine)
            write_experiment_report(run, {chosen.name: result}, figures, title=f"awaken experiment: {chosen.name}",
                                    intro=chosen.description or chosen.name, tables=list(tables), engine=engine,
                                    scorecard=scorecard)
    return result


def experiment_tables(results: Mapping[str, ExperimentResult]) -> dict[str, pd.DataFrame]:
    """A run's tables: group means (``timecourse``), every animal (``per_mouse``) and, where the
    engine reports them, every animal's parameters, each with an ``experiment`` column first."""
    import pandas as pd

    def first(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[["experiment", *[c for c in frame.columns if c != "experiment"]]]

    tables = {"timecourse": [r.timecourse.assign(experiment=n) for n, r in results.items()],
              "per_mouse": [r.per_mouse.assign(experiment=n) for n, r in results.items()],
              "parameters": [r.parameters.assign(experiment=n) for n, r in results.items() if hasattr(r, "parameters")]}
    return {name: first(pd.concat(frames, ignore_index=True)) for name, frames in tables.items() if frames}


def write_experiment_report(run: RunDirectory, results: Mapping[str, ExperimentResult], figures: list, *, title: str,
                            intro: str, tables: list[str], engine: str, scorecard: Scorecard | None = None,
                            ensemble=None, cohort=None) -> None:
    """``run.json`` and ``report.html`` of a run of virtual experiments (the tables are written already)."""
    from awaken.report.html import Report

    experiments = [r.experiment for r in results.values()]
    first = experiments[0]
    if scorecard is not None:
        run.write_json("scorecard.json", scorecard.to_records())
    table = load_parameter_table(first.species)
    provenance = run.finish()
    report = Report(title=title, intro=intro, provenance=provenance, figures=figures, experiments=experiments,
                    mice=first.mice, parameters=table.parameters(first.virus_kind),
                    parameter_label=f"{first.species}, {table.viruses[first.virus_kind].label}",
                    tables=[f"tables/{t}.parquet" for t in tables], scorecard=scorecard, ensemble=ensemble,
                    cohort=cohort, engine=engine)
    run.write_text("report.html", report.render())


def score_targets(mice: int = 4, seed: int = 0, days: int = 60, *, engine: str = "reference",
                  mechanisms: Mapping[str, bool] | None = None, parameters: Mapping[str, float] | None = None,
                  progress: bool | ProgressFactory = False) -> Scorecard:
    """The scorecard: the experiments the targets need, simulated, and every target scored.

    ``days`` must reach the last read-out of a target (28 d); human targets stay pending (they are
    scored on a cohort by :func:`awaken.reproduce`). ``mechanisms`` (switches) and ``parameters``
    (overrides) are applied to every scored experiment, checked as in an experiment file: the
    scorecard of a changed model.

    >>> card = score_targets(mice=1, days=28, engine="fast")
    >>> [s.id for s in card.mouse][:2]
    ['M1_mock_dormant', 'M2_onset_day3']
    >>> without_cd4 = score_targets(mice=1, days=28, engine="fast", mechanisms={"cd4_suppression": False})
    >>> "M8_cd4_maintains" in without_cd4.failed("mouse")
    True
    """
    if isinstance(days, int) and not isinstance(days, bool) and days < LAST_TARGET_DAY:
        raise InputError.field("days", f"must be >= {LAST_TARGET_DAY} d (the last read-out of a target)", days)
    from awaken.scorecard import REQUIRED_EXPERIMENTS, score

    experiments = [_changed(with_overrides(load_experiment(n), days=days, seed=seed, mice=mice), mechanisms, parameters)
                   for n in REQUIRED_EXPERIMENTS]
    run_engine = _engine(engine)
    with progress_bars(progress) as bar:
        advance = bar("scoring targets", total=len(experiments) * experiments[0].mice, unit="mice")
        results = {e.name: check_result(run_engine(e, advance)) for e in experiments}
    from awaken.scorecard import Scorecard

    return Scorecard(tuple(score(results)))


def _changed(experiment: Experiment, mechanisms: Mapping[str, bool] | None,
             parameters: Mapping[str, float] | None) -> Experiment:
    """The experiment with mechanism switches and parameter overrides added, re-validated."""
    if not mechanisms and not parameters:
        return experiment
    data = experiment.model_dump(mode="python")
    data["mechanisms"] = {**data["mechanisms"], **dict(mechanisms or {})}
    data["parameters"] = {**data["parameters"], **dict(parameters or {})}
    return validate(data, Experiment)


def read_scorecard(run: str | Path) -> Scorecard:
    """The scorecard stored in a run directory of :func:`awaken.reproduce`."""
    from awaken.scorecard import Scorecard

    path = Path(run) / "scorecard.json"
    if not path.is_file():
        raise InputError.field("run", "no scorecard.json there (is it a run of awaken reproduce?)", run)
    try:
        return Scorecard.from_records(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as err:
        raise InputError.field("run", f"scorecard.json cannot be read ({err})", run) from None


def validate_experiment(path: str | Path) -> Experiment:
    """Read and check an experiment file (unknown keys, types, ranges); raise :class:`InputError` if invalid.

    >>> from importlib import resources
    >>> validate_experiment(resources.files("awaken.experiments") / "catalogue" / "influenza.yaml").name
    'influenza'
    """
    return load_model(Path(str(path)), Experiment)


def parameter_table(species: str = "mouse", virus: str | None = None) -> list[Parameter]:
    """A lung parameter table: every parameter with value, unit, plausible range, variability and source.

    >>> [p.unit for p in parameter_table("mouse") if p.name == "il6_clearance"]
    ['1/d']
    """
    if species not in SPECIES:
        raise InputError.field("species", f"choose one of {', '.join(SPECIES)}", species)
    strains = load_parameter_table(species).viruses
    virus = virus or next(iter(strains))
    if virus not in strains:
        raise InputError.field("virus", f"choose one of {', '.join(strains)} (the {species} strains)", virus)
    return load_parameter_table(species).parameters(virus)
