"""The ``awaken`` command line (typer + rich).

Every command checks its input first (scenario schema, ranges, output directory) and exits with
status 2 and a message naming the field and what is allowed, before any simulation starts and
without writing anything. Long runs show a progress bar (mice simulated, rate, time left).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from awaken.schemas import InputError, load_model
from awaken.experiments.protocol import Experiment, MAX_DAYS

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="awaken: respiratory viral infections awaken dormant breast cancer cells (Chia et al., "
                       "Nature 2025) - an in-silico laboratory.")
experiment_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="List and run virtual mouse experiments.")
app.add_typer(experiment_app, name="experiment")
analyze_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                          help="The study's human analyses on EHR-shaped records (a simulated cohort or your own).")
app.add_typer(analyze_app, name="analyze")
export_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                         help="Export the lung model in the field's standards (SBML, PEtab, COMBINE/OMEX).")
app.add_typer(export_app, name="export")

console = Console()
errors = Console(stderr=True)

DaysOption = Annotated[Optional[int], typer.Option("--days", min=1, max=MAX_DAYS,
                                                   help=f"length of the run in days (1-{MAX_DAYS}) [d]")]
SeedOption = Annotated[Optional[int], typer.Option("--seed", min=0, max=2**32 - 1,
                                                   help="random seed for the mice's parameter draws (>= 0)")]
MiceOption = Annotated[Optional[int], typer.Option("--mice", min=1, max=1000, help="mice per group (1-1000) [mice]")]
OverwriteOption = Annotated[bool, typer.Option("--overwrite", help="replace an existing output directory")]


def _fail(message: str) -> None:
    errors.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False)
    raise typer.Exit(code=2)


def _flags(ctx: typer.Context) -> dict[str, str]:
    """The command's field names -> its flags (``output_days`` -> ``--output-days``, ``file`` -> ``FILE``)."""
    return {p.name: (p.opts[0] if p.param_type_name == "option" else (p.metavar or p.name.upper()))
            for p in ctx.command.params if p.name}


@contextmanager
def _user_errors(ctx: typer.Context) -> Iterator[None]:
    try:
        yield
    except InputError as err:
        _fail(err.render(_flags(ctx)))


class _RateColumn(ProgressColumn):
    """Items (mice, starts, generations) done per second."""

    def __init__(self, unit: str = "mice") -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        if task.speed is None:
            return Text("")
        rate = f"{task.speed:,.0f}" if task.speed >= 100 else f"{task.speed:.2f}"
        return Text(f"{rate} {self.unit}/s", style="progress.data.speed")


@contextmanager
def _progress_bar(total: int, description: str) -> Iterator[Callable[[int], None]]:
    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("mice"), _RateColumn(), TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn())
    with Progress(*columns, console=errors, transient=False) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)


def _default_out(prefix: str) -> Path:
    return Path("runs") / f"{prefix}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"


@app.command()
def reproduce(
    ctx: typer.Context,
    out: Annotated[Optional[Path], typer.Option("--out", help="run directory to create (default: runs/reproduce-<time>)")] = None,
    mice: Annotated[int, typer.Option("--mice", min=1, max=1000, help="mice per group (1-1000) [mice]")] = 4,
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**32 - 1, help="random seed (>= 0)")] = 0,
    days: Annotated[int, typer.Option("--days", min=28, max=MAX_DAYS, help=f"length of every experiment (28-{MAX_DAYS}) [d]")] = 365,
    ensemble: Annotated[Optional[Path], typer.Option("--ensemble", help="calibration ensemble (ensemble.parquet of an "
                                                     "awaken fit run; default: the shipped one)")] = None,
    no_ensemble: Annotated[bool, typer.Option("--no-ensemble", help="no ensemble bands or pass fractions")] = False,
    population: Annotated[int, typer.Option("--population", min=0, max=10_000_000,
                                            help="survivors in the report's population section, simulated with "
                                                 "and without the pandemic (0: leave it out)")] = 100_000,
    overwrite: OverwriteOption = False,
) -> None:
    """Run every virtual experiment of the study, score the targets and write the report.

    Exit status 1 if any mouse target fails (the report is still written), 2 on bad input.
    """
    from awaken.reproduction import experiments_to_run, reproduce as run_reproduction

    out = out or _default_out("reproduce")
    with _user_errors(ctx):
        from awaken.runs.directory import RunDirectory

        RunDirectory(out, overwrite=overwrite)  # refuse an existing directory before any work
        if ensemble is not None and not ensemble.is_file():
            raise InputError(f"--ensemble {ensemble}: no such file (give the ensemble.parquet of an awaken fit run)")
        if ensemble is not None:
            from awaken.calibration.ensemble import load_ensemble

            try:
                load_ensemble(ensemble)
            except (ValueError, OSError) as err:
                raise InputError(f"--ensemble {ensemble}: {err}") from None
        names = experiments_to_run()
        with _progress_bar(len(names) * mice, f"{len(names)} experiments") as advance:
            outcome = run_reproduction(out, mice=mice, seed=seed, days=days, overwrite=overwrite,
                                       progress=advance, command=sys.argv,
                                       ensemble=False if no_ensemble else (ensemble or True),
                                       population=population)
    _print_scores(outcome.scores or [])
    from awaken.targets import load_targets

    mouse = {t["id"] for t in load_targets().get("mouse", [])}
    failed = [s.id for s in outcome.scores or [] if s.passed is False and s.id in mouse]
    human_failed = [s.id for s in outcome.scores or [] if s.passed is False and s.id not in mouse]
    console.print(f"\nReport: [bold]{outcome.report}[/]", highlight=False)
    if human_failed:
        errors.print(f"human target(s) not met on the simulated cohort: {', '.join(human_failed)} (see the report)")
    if failed:
        errors.print(f"[bold red]{len(failed)} target(s) failed:[/] {', '.join(failed)}")
        raise typer.Exit(code=1)


@experiment_app.command("list")
def experiment_list(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """List the shipped virtual experiments."""
    from awaken.experiments.catalogue import list_experiments, load_experiment

    with _user_errors(ctx):
        _check_format(fmt)
        scenarios = [load_experiment(n) for n in list_experiments()]
    if fmt == "json":
        print(json.dumps([s.model_dump(mode="json") for s in scenarios], indent=2))
        return
    table = Table(title="virtual experiments", show_lines=False)
    for column in ("name", "host", "virus", "treatments", "description"):
        table.add_column(column, overflow="fold")
    for s in scenarios:
        treatments = "; ".join(f"{t.kind} {t.start_day:g}-{'end' if t.end_day is None else f'{t.end_day:g}'} d"
                               for t in s.treatments) or "-"
        host = s.host.strain + (", IL-6 KO" if s.host.il6 == "knockout" else "")
        table.add_row(s.name, host, s.virus.kind if s.virus else "PBS", treatments, s.description)
    console.print(table)


@experiment_app.command("run")
def experiment_run(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="experiment name (see 'awaken experiment list') or a scenario file (.yaml/.toml)")],
    days: DaysOption = None,
    seed: SeedOption = None,
    mice: MiceOption = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="run directory to create (default: runs/<name>-<time>)")] = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Run one virtual experiment and write its tables, figure and report."""
    from awaken.experiments.catalogue import resolve_experiment, with_overrides
    from awaken.reproduction import write_experiment
    from awaken.runs.directory import RunDirectory

    with _user_errors(ctx):
        scenario = with_overrides(resolve_experiment(name), days=days, seed=seed, mice=mice)
        out = out or _default_out(scenario.name)
        RunDirectory(out, overwrite=overwrite)
        with _progress_bar(scenario.mice, scenario.name) as advance:
            outcome = write_experiment(scenario, out, overwrite=overwrite, progress=advance, command=sys.argv)
    tc = outcome.results[scenario.name].timecourse
    table = Table(title=f"{scenario.name}: group means ({scenario.mice} mice)")
    for column in ("day", "dcc_count", "proliferating_fraction", "hybrid_fraction", "il6_pg_per_ml", "virus_titer"):
        table.add_column(column, justify="right")
    for day in (0, 3, 6, 9, 15, 28, 60, 365):
        row = tc[tc["day"] == day]
        if not row.empty:
            r = row.iloc[0]
            table.add_row(f"{day}", f"{r.dcc_count:.3g}", f"{r.proliferating_fraction:.3f}", f"{r.hybrid_fraction:.3f}",
                          f"{r.il6_pg_per_ml:.3g}", f"{r.virus_titer:.3g}")
    console.print(table)
    console.print(f"Report: [bold]{outcome.report}[/]", highlight=False)


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "json"):
        raise InputError(f"--format = {fmt!r}: choose 'table' or 'json'")


def _print_scores(scores: list) -> None:
    """Compact scorecard for a terminal (the report and --format json carry the full wording)."""
    from awaken.report.html import format_band, format_value

    table = Table(title="scorecard (measures and sources: report.html or --format json)")
    table.add_column("target", no_wrap=True)
    table.add_column("band", justify="right", overflow="fold")
    table.add_column("simulated", justify="right", overflow="fold")
    table.add_column("result", no_wrap=True)
    for s in scores:
        result = "[yellow]pending[/]" if s.passed is None else "[green]pass[/]" if s.passed else "[bold red]FAIL[/]"
        table.add_row(s.id, format_band(s.band), format_value(s.simulated), result)
    console.print(table)


@app.command()
def targets(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    run: Annotated[Optional[Path], typer.Option("--run", help="read the scorecard of an existing run directory instead of simulating")] = None,
    mice: Annotated[int, typer.Option("--mice", min=1, max=1000, help="mice per group (1-1000) [mice]")] = 4,
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**32 - 1, help="random seed (>= 0)")] = 0,
    days: Annotated[int, typer.Option("--days", min=28, max=MAX_DAYS, help="simulated days per experiment (28-3650; targets read out up to 28 dpi) [d]")] = 60,
) -> None:
    """The scorecard: every target of targets.yaml with its band, the simulated value and pass/fail."""
    from awaken.runs.files import jsonable
    from awaken.scorecard import REQUIRED_EXPERIMENTS, TargetScore, score

    with _user_errors(ctx):
        _check_format(fmt)
        if run is not None:
            path = run / "scorecard.json"
            if not path.is_file():
                raise InputError(f"--run {run}: no scorecard.json there (is it a run of 'awaken reproduce'?)")
            scores = [TargetScore(**row) for row in json.loads(path.read_text())]
        else:
            from awaken.experiments.catalogue import load_experiment, with_overrides
            from awaken.solvers.reference import run_group

            scenarios = [with_overrides(load_experiment(n), days=days, seed=seed, mice=mice) for n in REQUIRED_EXPERIMENTS]
            results = {}
            with _progress_bar(len(scenarios) * mice, "scoring targets") as advance:
                for scenario in scenarios:
                    results[scenario.name] = run_group(scenario, progress=advance)
            scores = score(results)
    if fmt == "json":
        print(json.dumps(jsonable(scores), indent=2))
    else:
        _print_scores(scores)


@app.command()
def validate(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="scenario file (.yaml, .yml or .toml)")],
) -> None:
    """Check a scenario file: unknown keys, types and ranges. Exit status 2 if invalid."""
    with _user_errors(ctx):
        scenario = load_model(file, Experiment)
    console.print(f"[green]ok[/]: {file} is a valid lung scenario ({scenario.name}, sha256 {scenario.sha256()[:16]})",
                  highlight=False)


@app.command()
def parameters(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    virus: Annotated[Optional[str], typer.Option("--virus", help="strain: mouse influenza_a_pr8 or sars_cov_2_ma10; "
                                                 "human influenza_seasonal or sars_cov_2 (default: the first)")] = None,
    species: Annotated[str, typer.Option("--species", help="mouse or human (the human set inherits the mouse "
                                         "table and changes viral kinetics and IL-6)")] = "mouse",
) -> None:
    """A lung parameter table: value, unit, plausible range, variability and source."""
    from awaken.lung.parameters import SPECIES, load_parameter_table

    with _user_errors(ctx):
        _check_format(fmt)
        if species not in SPECIES:
            raise InputError(f"--species = {species!r}: choose one of {', '.join(SPECIES)}")
        strains = load_parameter_table(species).viruses
        virus = virus or next(iter(strains))
        if virus not in strains:
            raise InputError(f"--virus = {virus!r}: choose one of {', '.join(strains)} (the {species} strains)")
        rows = load_parameter_table(species).parameters(virus)
    if fmt == "json":
        print(json.dumps([p.model_dump() for p in rows], indent=2))
        return
    table = Table(title=f"{species} lung parameters ({virus})")
    for column in ("name", "value", "unit", "range", "cv", "source"):
        table.add_column(column, overflow="fold")
    for p in rows:
        table.add_row(p.name, f"{p.value:g}", p.unit, f"{p.range[0]:g} - {p.range[1]:g}", f"{p.cv:g}", p.source)
    console.print(table)


@export_app.command("sbml")
def export_sbml(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="SBML file to write (.xml or .sbml)")],
    experiment: Annotated[str, typer.Option("--experiment", help="experiment whose schedule becomes SBML events "
                                            "(name or scenario file)")] = "influenza",
    preequilibration: Annotated[bool, typer.Option(
        "--preequilibration/--no-preequilibration",
        help="carry the 365-day pre-equilibration in the model (experiment day d = model time 365 + d) instead of "
             "its result as initial amounts")] = False,
    overwrite: OverwriteOption = False,
) -> None:
    """Write the lung model and one experiment's schedule as SBML Level 3 Version 2 (validated by libsbml)."""
    from awaken.experiments.catalogue import resolve_experiment
    from awaken.export.sbml import consistency_report, sbml_document

    with _user_errors(ctx):
        if file.suffix.lower() not in (".xml", ".sbml"):
            raise InputError(f"FILE {file}: the SBML file name must end in .xml or .sbml")
        if file.exists() and not overwrite:
            raise InputError(f"FILE {file}: already exists; choose a new name or pass --overwrite")
        if not file.parent.exists():
            raise InputError(f"FILE {file}: directory {file.parent} does not exist")
        scenario = resolve_experiment(experiment)
    import libsbml

    document = sbml_document(scenario, preequilibration=preequilibration)
    n_errors, n_warnings, messages = consistency_report(document)
    if n_errors:
        for message in messages:
            errors.print(message, highlight=False)
        _fail(f"libsbml found {n_errors} errors in the generated document; nothing written")
    tmp = file.with_name(f".{file.name}.tmp")
    if not libsbml.writeSBMLToFile(document, str(tmp)):
        tmp.unlink(missing_ok=True)
        _fail(f"libsbml could not write {file}")
    tmp.replace(file)
    model = document.getModel()
    console.print(f"wrote [bold]{file}[/]: {model.getNumSpecies()} species, {model.getNumReactions()} reactions, "
                  f"{model.getNumParameters()} parameters, {model.getNumRules()} assignment rules, "
                  f"{model.getNumEvents()} events; libsbml: 0 errors, {n_warnings} unit warnings", highlight=False)


@export_app.command("petab")
def export_petab(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="directory to create (problem.yaml, model.xml and the tables)")],
    overwrite: OverwriteOption = False,
) -> None:
    """Write the mouse calibration as a PEtab v1 problem (checked by libsbml and petab's linter)."""
    from awaken.calibration.petab_problem import write_petab

    with _user_errors(ctx):
        if directory.exists() and not overwrite:
            raise InputError(f"DIRECTORY {directory}: already exists; choose a new name or pass --overwrite")
        if not directory.parent.exists():
            raise InputError(f"DIRECTORY {directory}: directory {directory.parent} does not exist")
    problem = write_petab(directory, overwrite=overwrite)
    import pandas as pd

    measurements = pd.read_csv(directory / "measurements.tsv", sep="\t")
    parameters = pd.read_csv(directory / "parameters.tsv", sep="\t")
    console.print(f"wrote [bold]{problem}[/]: {measurements['simulationConditionId'].nunique()} conditions, "
                  f"{len(measurements)} measurements, {int(parameters['estimate'].sum())} estimated parameters; "
                  f"petablint: passed", highlight=False)


@export_app.command("omex")
def export_omex(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="directory for the archives (<experiment>.omex)")],
    experiment: Annotated[Optional[list[str]], typer.Option("--experiment", help="experiment (repeatable; default: "
                                                            "every shipped experiment)")] = None,
    days: DaysOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Write a COMBINE archive (SBML + SED-ML) per experiment, to re-run the study outside awaken."""
    from awaken.experiments.catalogue import list_experiments, resolve_experiment
    from awaken.export.omex import write_omex

    with _user_errors(ctx):
        if directory.exists() and not directory.is_dir():
            raise InputError(f"DIRECTORY {directory}: exists and is not a directory")
        if not directory.parent.exists():
            raise InputError(f"DIRECTORY {directory}: directory {directory.parent} does not exist")
        scenarios = [resolve_experiment(e) for e in (experiment or list_experiments())]
        clashes = [str(directory / f"{s.name}.omex") for s in scenarios if (directory / f"{s.name}.omex").exists()]
        if clashes and not overwrite:
            raise InputError(f"DIRECTORY {directory}: {', '.join(clashes)} already exist; pass --overwrite")
    paths = write_omex(directory, scenarios, days=days, overwrite=overwrite)
    console.print(f"wrote {len(paths)} COMBINE archives to [bold]{directory}[/] (SBML L3V2 + SED-ML L1V4 each; "
                  f"libsbml and libsedml: 0 errors)", highlight=False)


@app.command()
def fit(
    ctx: typer.Context,
    starts: Annotated[int, typer.Option("--starts", min=1, max=10_000, help="random starts (1-10,000; the shipped "
                                        "values are tried as well)")] = 20,
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**32 - 1, help="random seed (>= 0)")] = 0,
    max_iterations: Annotated[int, typer.Option("--max-iterations", min=1, max=100_000,
                                                help="L-BFGS-B iterations per start")] = 200,
    profile: Annotated[Optional[list[str]], typer.Option("--profile", help="parameter to profile (repeatable; "
                                                         "default: all fitted parameters)")] = None,
    no_profiles: Annotated[bool, typer.Option("--no-profiles", help="skip the profile likelihoods")] = False,
    walkers: Annotated[int, typer.Option("--walkers", min=2, max=10_000, help="ensemble sampler walkers (even, "
                                         ">= twice the fitted parameters)")] = 48,
    generations: Annotated[int, typer.Option("--generations", min=2, max=1_000_000,
                                             help="sampler generations (first half is burn-in)")] = 400,
    ensemble_size: Annotated[int, typer.Option("--ensemble-size", min=1, max=100_000,
                                               help="ensemble members kept")] = 200,
    out: Annotated[Optional[Path], typer.Option("--out", help="run directory to create (default: runs/fit-<time>)")] = None,
    threads: Annotated[Optional[int], typer.Option("--threads", min=1, max=512, help="solver threads (default: all cores)")] = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Fit the mouse lung model to the targets: multi-start, profiles, posterior ensemble, report."""
    from awaken.calibration.run import PHASES, FitSettings
    from awaken.calibration.run import fit as run_fit
    from awaken.schemas import validate
    from awaken.runs.directory import RunDirectory

    with _user_errors(ctx):
        settings = validate({"starts": starts, "seed": seed, "max_iterations": max_iterations,
                                      "profiles": [] if no_profiles else profile, "walkers": walkers,
                                      "generations": generations, "ensemble_size": ensemble_size},
                                     FitSettings, source="awaken fit options")
        out = out or _default_out("fit")
        RunDirectory(out, overwrite=overwrite)
    if threads is not None:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
               _RateColumn("items"), TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn())
    with Progress(*columns, console=errors, transient=False) as bar:
        def phase(name: str, total: int) -> Callable[[int], None]:
            task = bar.add_task(PHASES[name], total=total)
            return lambda n: bar.advance(task, n)

        with _user_errors(ctx):
            path = run_fit(out, settings, overwrite=overwrite, progress=phase, command=sys.argv)
    console.print(f"calibration written to [bold]{path}[/] (report: {path / 'report.html'})", highlight=False)


@app.command()
def population(
    ctx: typer.Context,
    experiment: Annotated[str, typer.Option("--experiment", help="experiment name or scenario file")] = "influenza",
    n: Annotated[int, typer.Option("--n", min=1, max=10_000_000, help="individuals to keep (1-10,000,000)")] = 1000,
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**32 - 1, help="random seed (>= 0)")] = 0,
    out: Annotated[Optional[Path], typer.Option("--out", help="run directory to create (default: runs/population-<time>)")] = None,
    output_days: Annotated[str, typer.Option("--output-days", help="comma-separated read-out days [d]")] =
        "0,3,6,9,12,15,21,28,42,60,90,120",
    envelope: Annotated[bool, typer.Option("--envelope/--no-envelope", help="accept only individuals inside the "
                                           "physiological envelope (viral clearance, IL-6 peak range)")] = True,
    threads: Annotated[Optional[int], typer.Option("--threads", min=1, max=512, help="solver threads (default: all cores)")] = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Simulate a virtual population with the fast solver; per-individual read-outs to Parquet."""
    from awaken.experiments.catalogue import resolve_experiment
    from awaken.solvers.virtual_population import PhysiologicalEnvelope, simulate_population
    from awaken.runs.directory import RunDirectory

    with _user_errors(ctx):
        try:
            days = sorted({float(d) for d in output_days.split(",") if d.strip()})
        except ValueError:
            raise InputError(f"--output-days {output_days!r}: give comma-separated numbers of days, e.g. 0,15,28") from None
        if not days or days[0] < 0 or days[-1] > MAX_DAYS:
            raise InputError(f"--output-days {output_days!r}: days must lie within [0, {MAX_DAYS}]")
        scenario = resolve_experiment(experiment)
        if scenario.virus is not None and scenario.virus.day >= days[-1]:
            raise InputError(f"--output-days: the last day ({days[-1]:g}) must come after the infection "
                              f"(day {scenario.virus.day:g})")
        out = out or _default_out("population")
        RunDirectory(out, overwrite=overwrite)
    if threads is not None:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    with _user_errors(ctx), _progress_bar(n, f"{scenario.name} population") as advance:
        pop = simulate_population(scenario, n=n, seed=seed, output_days=days,
                                  envelope=PhysiologicalEnvelope() if envelope else None, progress=advance)
    with RunDirectory(out, overwrite=overwrite, kind="population", seed=seed, scenarios=[scenario]) as run:
        run.write_parquet("readouts.parquet", pop.readouts)
        run.write_parquet("parameters.parquet", pop.parameters)
        summary = {"experiment": scenario.name, "n": pop.accepted, "candidates": pop.candidates,
                   "acceptance_rate": pop.acceptance_rate,
                   "envelope": pop.envelope.model_dump(mode="json") if pop.envelope else None,
                   "output_days": days, "rtol": pop.rtol, "mean_accepted_steps": pop.steps_mean}
        run.write_json("population.json", summary)
        run.results = summary
    console.print(f"{pop.accepted} individuals of {scenario.name} ({pop.candidates} candidates screened, acceptance "
                  f"{pop.acceptance_rate:.1%}) -> [bold]{out}[/]", highlight=False)


@app.command()
def cohort(
    ctx: typer.Context,
    n: Annotated[int, typer.Option("--n", help="survivors to simulate (1-100,000,000)")] = 100_000,
    seed: Annotated[int, typer.Option("--seed", help="random seed (>= 0)")] = 0,
    workers: Annotated[int, typer.Option("--workers", help="Dask worker processes of the local cluster (1-256)")] = 2,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="address of an existing Dask scheduler "
                                                     "(e.g. tcp://10.0.0.1:8786); its workers must see --out")] = None,
    scenario_file: Annotated[Optional[Path], typer.Option("--scenario", help="cohort scenario file (YAML/TOML; "
                                                          "default: the shipped default scenario)")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="cohort directory (default: runs/cohort-<time>); "
                                                "re-running into it finishes a killed run")] = None,
    block_size: Annotated[int, typer.Option("--block-size", help="people per block (1-1,000,000)")] = 50_000,
    overwrite: OverwriteOption = False,
) -> None:
    """Simulate a virtual cancer-survivor cohort into EHR-shaped Parquet tables (docs/data.md)."""
    from awaken.cohort.parameters import CohortScenario
    from awaken.cohort.run import run_cohort

    with _user_errors(ctx):
        scenario = load_model(scenario_file, CohortScenario) if scenario_file is not None else CohortScenario()
        out = out or _default_out("cohort")
        if not 1 <= n <= 100_000_000:
            raise InputError(f"--n = {n}: the number of people must be >= 1 and <= 100000000")
    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("people"), _RateColumn("people"), TimeElapsedColumn(), TextColumn("left"),
               TimeRemainingColumn())
    with Progress(*columns, console=errors, transient=False) as bar:
        task = bar.add_task(f"cohort {scenario.name}", total=n)
        with _user_errors(ctx):
            run = run_cohort(scenario, n=n, seed=seed, out=out, workers=workers, scheduler=scheduler,
                             block_size=block_size, overwrite=overwrite,
                             progress=lambda k: bar.advance(task, k))
    table = Table(title=f"cohort {scenario.name}: {n:,} survivors, {scenario.start} to {scenario.end}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in run.rows.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    resumed = f", {run.skipped_blocks} of {run.blocks} blocks already done" if run.skipped_blocks else ""
    console.print(f"{run.blocks} blocks in {run.seconds:.1f} s{resumed} -> [bold]{out}[/] (run.json; query with "
                  f"DuckDB: read_parquet('{out}/patients/*.parquet'))", highlight=False)


def _ratio_table(title: str, frame, ratio: str) -> Table:
    table = Table(title=title)
    table.add_column(frame.index.name or "")
    for column in (ratio, "95% CI", "p"):
        table.add_column(column, justify="right")
    for label, row in frame.iterrows():
        table.add_row(str(label), f"{row[ratio]:.2f}", f"{row['lower']:.2f}-{row['upper']:.2f}", f"{row['p']:.2g}")
    return table


def _counts_table(title: str, counts: dict) -> Table:
    table = Table(title=title)
    table.add_column("")
    table.add_column("n", justify="right")
    for key, value in counts.items():
        table.add_row(key.replace("_", " "), f"{value:,}")
    return table


CohortDirOption = Annotated[Path, typer.Option("--cohort", help="records: an `awaken cohort` directory, or a "
                                               "directory of <table>.parquet / <table>.csv files (docs/data.md)")]
FormatOption = Annotated[str, typer.Option("--format", help="table or json")]


def _recipe(ctx: typer.Context, cohort_dir: Path, fmt: str, analyse: Callable):
    """Load and check the records, run ``analyse`` on them; print JSON and return None for --format json."""
    from awaken.studies.records import load_records
    from awaken.runs.files import jsonable

    with _user_errors(ctx):
        _check_format(fmt)
        result = analyse(load_records(cohort_dir))
    if fmt == "json":
        print(json.dumps(jsonable(result.to_dict()), indent=2, default=str))
        return None
    return result


@analyze_app.command("ukb")
def analyze_ukb(ctx: typer.Context, cohort_dir: CohortDirOption, fmt: FormatOption = "table") -> None:
    """UK Biobank design: SARS-CoV-2 test-positive vs test-negative survivors, cancer-specific death."""
    from awaken.studies.ukb import ukb_analysis

    result = _recipe(ctx, cohort_dir, fmt, ukb_analysis)
    if result is None:
        return
    console.print(_counts_table("UK Biobank design: survivors tested in the first pandemic year", result.counts))
    console.print(_ratio_table("odds ratio of cancer death, positive vs negative (published 1.85, 1.14-3.02)",
                               result.odds_ratios, "OR"))
    console.print(_ratio_table("hazard ratio of cancer death by time since the positive test",
                               result.hazard_ratios, "HR"))
    console.print(f"excess concentrated in the first year (H2): {'yes' if result.first_year_excess else 'no'}")


@analyze_app.command("flatiron")
def analyze_flatiron(ctx: typer.Context, cohort_dir: CohortDirOption, fmt: FormatOption = "table") -> None:
    """Flatiron design: recorded COVID-19 as a time-varying exposure, lung metastasis, death competing."""
    from awaken.studies.flatiron import flatiron_analysis

    result = _recipe(ctx, cohort_dir, fmt, flatiron_analysis)
    if result is None:
        return
    console.print(_counts_table("Flatiron design: breast cancer patients from the pandemic start", result.counts))
    console.print(_ratio_table("cause-specific hazard ratio of lung metastasis after a recorded COVID-19 diagnosis",
                               result.hazard_ratios, "HR"))
    horizon = result.settings.curve_months
    for group, value in result.incidence_at_horizon.items():
        console.print(f"cumulative incidence of lung metastasis at {horizon:g} months, {group}: {100 * value:.2f} %")

@app.command()
def power(
    ctx: typer.Context,
    design: Annotated[str, typer.Option("--design", help="flatiron (lung metastasis HR) or ukb (cancer-death OR)")] =
        "flatiron",
    n: Annotated[int, typer.Option("--n", help="people per simulated cohort (100-10,000,000)")] = 36_845,
    strengths: Annotated[str, typer.Option("--strengths", help="true effects: comma-separated awakening_strength "
                                           "values (0 = no effect; the calibrated value is 0.008)")] =
        "0,0.0005,0.001,0.002,0.004,0.008",
    replicates: Annotated[int, typer.Option("--replicates", help="cohorts per effect (2-100,000)")] = 100,
    alpha: Annotated[float, typer.Option("--alpha", help="two-sided significance level")] = 0.05,
    seed: Annotated[int, typer.Option("--seed", help="seed of replicate 0 (>= 0)")] = 0,
    workers: Annotated[int, typer.Option("--workers", help="Dask worker processes (1-256)")] = 2,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="address of an existing Dask scheduler")] =
        None,
    out: Annotated[Optional[Path], typer.Option("--out", help="run directory (default: runs/power-<time>)")] = None,
    fmt: FormatOption = "table",
    overwrite: OverwriteOption = False,
) -> None:
    """Simulation-based power of a confirmatory cohort: power curve and smallest detectable ratio."""
    from awaken.schemas import validate
    from awaken.report.population_figures import power_figure
    from awaken.runs.directory import RunDirectory
    from awaken.studies.power import PowerSettings, power_curve

    with _user_errors(ctx):
        _check_format(fmt)
        try:
            values = [float(x) for x in strengths.split(",") if x.strip()]
        except ValueError:
            raise InputError(f"--strengths {strengths!r}: give comma-separated numbers, e.g. 0,0.002,0.008") from None
        settings = validate({"design": design, "n": n, "strengths": values, "replicates": replicates,
                                      "alpha": alpha, "seed": seed}, PowerSettings, source="awaken power options")
        if not 1 <= workers <= 256:
            raise InputError(f"--workers = {workers}: must be >= 1 and <= 256")
        out = out or _default_out("power")
        RunDirectory(out, overwrite=overwrite)
    total = len(settings.strengths) * settings.replicates
    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("cohorts"), _RateColumn("cohorts"), TimeElapsedColumn(), TextColumn("left"),
               TimeRemainingColumn())
    with Progress(*columns, console=errors, transient=False) as bar:
        task = bar.add_task(f"power, {settings.design} design", total=total)
        result = power_curve(settings, workers=workers, scheduler=scheduler, progress=lambda k: bar.advance(task, k))
    with RunDirectory(out, overwrite=overwrite, kind="power", seed=seed, settings=settings.model_dump(mode="json")) as run:
        run.write_parquet("replicates.parquet", result.replicates)
        run.write_parquet("curve.parquet", result.curve)
        run.write_json("power.json", result.to_dict())
        run.save_figure("power_curve", power_figure(result))
        run.results = result.to_dict()
    if fmt == "json":
        print(json.dumps(result.to_dict(), indent=2))
        return
    table = Table(title=f"power of the {settings.design} design, {settings.n:,} people, {settings.replicates} "
                        f"replicates per effect (alpha {settings.alpha:g})")
    for column in ("awakening_strength", f"mean {result.ratio_name}", "power", "Monte Carlo SE"):
        table.add_column(column, justify="right")
    for _, row in result.curve.iterrows():
        table.add_row(f"{row.strength:g}", f"{row.mean_ratio:.2f}", f"{row.power:.2f}", f"{row.power_se:.3f}")
    console.print(table)
    detectable = ("not reached" if result.smallest_detectable is None else f"{result.smallest_detectable:.2f}")
    console.print(f"smallest {result.ratio_name} detected with power {settings.target_power:g}: {detectable} "
                  f"-> [bold]{out}[/] (power_curve.png/.svg, replicates.parquet)", highlight=False)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
