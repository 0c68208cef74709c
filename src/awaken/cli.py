"""The ``awaken`` command line: parse, call the Python API, print.

Every command is a few lines around its twin in :mod:`awaken.api`. Input is checked there, by the
schemas, before any work starts; a bad value exits with status 2 and the schema's message, with
field names turned into this command's flags (``output_days`` -> ``--output-days``). Help texts
take their ranges and units from the same schemas. Nothing a user wrote is ever read as rich
markup: consoles print text as it is.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from awaken.schemas import InputError, describe_field

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

console = Console(markup=False, highlight=False)
errors = Console(stderr=True, markup=False, highlight=False)


# ---------------------------------------------------------------- help texts from the schemas
def _help(model: str, field: str) -> str:
    """A field's description, range and unit, from its schema (imported only to print help)."""
    from importlib import import_module

    module, name = model.rsplit(".", 1)
    return describe_field(getattr(import_module(module), name), field)


EXPERIMENT = "awaken.experiments.protocol.Experiment"
OverwriteOption = Annotated[bool, typer.Option("--overwrite", help="replace an existing awaken run of the same name "
                                               "(never a directory holding anything else)")]
FormatOption = Annotated[str, typer.Option("--format", help="table or json")]
WorkersOption = Annotated[int, typer.Option("--workers", help="Dask worker processes of the local cluster (1-256)")]
SchedulerOption = Annotated[Optional[str], typer.Option("--scheduler", help="address of an existing Dask scheduler "
                                                        "(tcp://HOST:PORT); its workers must see --out")]
ThreadsOption = Annotated[Optional[int], typer.Option("--threads", help="solver threads (default: all cores)")]
OutOption = Annotated[Optional[Path], typer.Option("--out", help="run directory to create (default: "
                                                   "runs/<command>-<time>)")]


# ---------------------------------------------------------------- errors, progress, output
def _flags(ctx: typer.Context) -> dict[str, str]:
    """The command's field names -> its flags (``output_days`` -> ``--output-days``, ``file`` -> ``FILE``)."""
    return {p.name: (p.opts[0] if p.param_type_name == "option" else (p.metavar or p.name.upper()))
            for p in ctx.command.params if p.name}


@contextmanager
def _user_errors(ctx: typer.Context) -> Iterator[None]:
    """Bad input: the schema's message with this command's flags, exit status 2."""
    try:
        yield
    except InputError as err:
        errors.print(Text.assemble(("error: ", "bold red"), err.render(_flags(ctx))))
        raise typer.Exit(code=2) from None


@contextmanager
def _bars() -> Iterator[Any]:
    from awaken.runs.progress import rich_progress

    with rich_progress(errors) as factory:
        yield factory


def _default_out(prefix: str) -> Path:
    import datetime as dt

    return Path("runs") / f"{prefix}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "json"):
        raise InputError.field("fmt", "choose 'table' or 'json'", fmt)


def _json(value: Any) -> None:
    from awaken.runs.files import jsonable

    print(json.dumps(jsonable(value), indent=2, default=str))


def _table(title: str, columns: list[str], rows: list[list[Any]], right: tuple[int, ...] = ()) -> Table:
    table = Table(title=title)
    for i, column in enumerate(columns):
        table.add_column(column, justify="right" if i in right else "left", overflow="fold")
    for row in rows:
        table.add_row(*[cell if isinstance(cell, Text) else Text(str(cell)) for cell in row])
    return table


def _parse_numbers(text: str, field: str, example: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError.field(field, f"give comma-separated numbers, e.g. {example}", text) from None


def _print_scores(scorecard: Any) -> None:
    """Compact scorecard for a terminal (the report and --format json carry the full wording)."""
    from awaken.report.html import format_band, format_value

    verdict = {None: Text("pending", "yellow"), True: Text("pass", "green"), False: Text("FAIL", "bold red")}
    console.print(_table("scorecard (measures and sources: report.html or --format json)",
                         ["target", "band", "simulated", "result"],
                         [[s.id, format_band(s.band), format_value(s.simulated), verdict[s.passed]] for s in scorecard],
                         right=(1, 2)))


# ---------------------------------------------------------------- the lung
@app.command()
def reproduce(
    ctx: typer.Context,
    out: OutOption = None,
    mice: Annotated[int, typer.Option("--mice", help=_help("awaken.api.settings.ReproduceSettings", "mice"))] = 4,
    seed: Annotated[int, typer.Option("--seed", help=_help("awaken.api.settings.ReproduceSettings", "seed"))] = 0,
    days: Annotated[int, typer.Option("--days", help=_help("awaken.api.settings.ReproduceSettings", "days"))] = 365,
    engine: Annotated[str, typer.Option("--engine", help="reference (SciPy Radau) or fast (compiled batch solver)")] =
        "reference",
    ensemble: Annotated[Optional[Path], typer.Option("--ensemble", help="calibration ensemble (ensemble.parquet of an "
                                                     "awaken fit run; default: the shipped one)")] = None,
    no_ensemble: Annotated[bool, typer.Option("--no-ensemble", help="no ensemble bands or pass fractions")] = False,
    survivors: Annotated[int, typer.Option("--survivors", help=_help("awaken.api.settings.ReproduceSettings",
                                                                     "survivors"))] = 100_000,
    overwrite: OverwriteOption = False,
) -> None:
    """Run every virtual experiment of the study, score the targets and write the report.

    Exit status 1 if any mouse target fails (the report is still written), 2 on bad input.
    """
    from awaken.api.reproduce import reproduce as run

    with _user_errors(ctx), _bars() as bars:
        outcome = run(out or _default_out("reproduce"), mice=mice, seed=seed, days=days, engine=engine,
                      ensemble=False if no_ensemble else (ensemble or True), survivors=survivors, overwrite=overwrite,
                      progress=bars, command=sys.argv)
    _print_scores(outcome.scorecard)
    console.print(f"\nReport: {outcome.report}")
    if outcome.scorecard.failed("human"):
        errors.print(f"human target(s) not met on the simulated cohort: {', '.join(outcome.scorecard.failed('human'))} "
                     f"(see the report)")
    if outcome.scorecard.failed("mouse"):
        errors.print(Text(f"{len(outcome.scorecard.failed('mouse'))} target(s) failed: "
                          f"{', '.join(outcome.scorecard.failed('mouse'))}", "bold red"))
        raise typer.Exit(code=1)


@experiment_app.command("list")
def experiment_list(ctx: typer.Context, fmt: FormatOption = "table") -> None:
    """List the shipped virtual experiments."""
    from awaken.api.experiments import list_experiments, load_experiment

    with _user_errors(ctx):
        _check_format(fmt)
        experiments = [load_experiment(n) for n in list_experiments()]
    if fmt == "json":
        return _json([e.model_dump(mode="json") for e in experiments])
    rows = []
    for e in experiments:
        treatments = "; ".join(f"{t.kind} {t.start_day:g}-{'end' if t.end_day is None else f'{t.end_day:g}'} d"
                               for t in e.treatments) or "-"
        host = e.host.strain + (", IL-6 KO" if e.host.il6 == "knockout" else "")
        rows.append([e.name, host, e.virus.kind if e.virus else "PBS", treatments, e.description])
    console.print(_table("virtual experiments", ["name", "host", "virus", "treatments", "description"], rows))


@experiment_app.command("run")
def experiment_run(
    ctx: typer.Context,
    experiment: Annotated[str, typer.Argument(help="experiment name (see 'awaken experiment list') or an experiment "
                                              "file (.yaml/.toml)")],
    days: Annotated[Optional[int], typer.Option("--days", help=_help(EXPERIMENT, "days"))] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help=_help(EXPERIMENT, "seed"))] = None,
    mice: Annotated[Optional[int], typer.Option("--mice", help=_help(EXPERIMENT, "mice"))] = None,
    engine: Annotated[str, typer.Option("--engine", help="reference (SciPy Radau) or fast (compiled batch solver)")] =
        "reference",
    out: OutOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Run one virtual experiment and write its tables, figure and report."""
    from awaken.api.experiments import run_experiment

    with _user_errors(ctx), _bars() as bars:
        target = out or _default_out(Path(experiment).stem)
        result = run_experiment(experiment, days=days, seed=seed, mice=mice, engine=engine, out=target,
                                overwrite=overwrite, progress=bars, command=sys.argv)
    tc = result.timecourse.set_index("day")
    rows = [[f"{day}", f"{r.dcc_count:.3g}", f"{r.proliferating_fraction:.3f}", f"{r.hybrid_fraction:.3f}",
             f"{r.il6_pg_per_ml:.3g}", f"{r.virus_titer:.3g}"]
            for day, r in tc.iterrows() if day in (0, 3, 6, 9, 15, 28, 60, 365)]
    console.print(_table(f"{result.name}: group means ({result.per_mouse['mouse'].nunique()} mice)",
                         ["day", "dcc_count", "proliferating_fraction", "hybrid_fraction", "il6_pg_per_ml",
                          "virus_titer"], rows, right=tuple(range(6))))
    console.print(f"Report: {target / 'report.html'}")


@app.command()
def targets(
    ctx: typer.Context,
    fmt: FormatOption = "table",
    run: Annotated[Optional[Path], typer.Option("--run", help="read the scorecard of an existing run directory "
                                                "instead of simulating")] = None,
    mice: Annotated[int, typer.Option("--mice", help=_help(EXPERIMENT, "mice"))] = 4,
    seed: Annotated[int, typer.Option("--seed", help=_help(EXPERIMENT, "seed"))] = 0,
    days: Annotated[int, typer.Option("--days", help="simulated days per experiment (28-3650; targets read out up to "
                                      "28 dpi) [d]")] = 60,
    engine: Annotated[str, typer.Option("--engine", help="reference or fast")] = "reference",
) -> None:
    """The scorecard: every target of targets.yaml with its band, the simulated value and pass/fail."""
    from awaken.api.experiments import read_scorecard, score_targets

    with _user_errors(ctx):
        _check_format(fmt)
        if run is not None:
            scorecard = read_scorecard(run)
        else:
            with _bars() as bars:
                scorecard = score_targets(mice=mice, seed=seed, days=days, engine=engine, progress=bars)
    if fmt == "json":
        return _json(scorecard.to_records())
    _print_scores(scorecard)


@app.command()
def validate(ctx: typer.Context,
             file: Annotated[Path, typer.Argument(help="experiment file (.yaml, .yml or .toml)")]) -> None:
    """Check an experiment file: unknown keys, types and ranges. Exit status 2 if invalid."""
    from awaken.api.experiments import validate_experiment

    with _user_errors(ctx):
        experiment = validate_experiment(file)
    console.print(Text.assemble(("ok", "green"), f": {file} is a valid experiment ({experiment.name}, sha256 "
                                                 f"{experiment.sha256()[:16]})"))


@app.command()
def parameters(
    ctx: typer.Context,
    fmt: FormatOption = "table",
    virus: Annotated[Optional[str], typer.Option("--virus", help="strain: mouse influenza_a_pr8 or sars_cov_2_ma10; "
                                                 "human influenza_seasonal or sars_cov_2 (default: the first)")] = None,
    species: Annotated[str, typer.Option("--species", help="mouse or human (the human set inherits the mouse "
                                         "table and changes viral kinetics and IL-6)")] = "mouse",
) -> None:
    """A lung parameter table: value, unit, plausible range, variability and source."""
    from awaken.api.experiments import parameter_table

    with _user_errors(ctx):
        _check_format(fmt)
        rows = parameter_table(species, virus)
    if fmt == "json":
        return _json([p.model_dump() for p in rows])
    console.print(_table(f"{species} lung parameters ({virus or 'default strain'})",
                         ["name", "value", "unit", "range", "cv", "source"],
                         [[p.name, f"{p.value:g}", p.unit, f"{p.range[0]:g} - {p.range[1]:g}", f"{p.cv:g}", p.source]
                          for p in rows]))


# ---------------------------------------------------------------- standards
@export_app.command("sbml")
def export_sbml(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="SBML file to write (.xml or .sbml)")],
    experiment: Annotated[str, typer.Option("--experiment", help="experiment whose schedule becomes SBML events "
                                            "(name or experiment file)")] = "influenza",
    preequilibration: Annotated[bool, typer.Option(
        "--preequilibration/--no-preequilibration",
        help="carry the 365-day pre-equilibration in the model (experiment day d = model time 365 + d) instead of "
             "its result as initial amounts")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="replace an existing file")] = False,
) -> None:
    """Write the lung model and one experiment's schedule as SBML Level 3 Version 2 (validated by libsbml)."""
    from awaken.api.export import export_sbml as run

    with _user_errors(ctx):
        done = run(file, experiment=experiment, preequilibration=preequilibration, overwrite=overwrite)
    console.print(f"wrote {done.path}: {done.species} species, {done.reactions} reactions, {done.parameters} parameters, "
                  f"{done.rules} assignment rules, {done.events} events; libsbml: 0 errors, {done.warnings} unit warnings")


@export_app.command("petab")
def export_petab(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="directory to create (problem.yaml, model.xml and the tables)")],
    overwrite: OverwriteOption = False,
) -> None:
    """Write the mouse calibration as a PEtab v1 problem (checked by libsbml and petab's linter)."""
    from awaken.api.export import export_petab as run

    with _user_errors(ctx):
        done = run(directory, overwrite=overwrite, command=sys.argv)
    console.print(f"wrote {done.problem}: {done.conditions} conditions, {done.measurements} measurements, "
                  f"{done.estimated} estimated parameters; petablint: passed")


@export_app.command("omex")
def export_omex(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="directory for the archives (<experiment>.omex)")],
    experiment: Annotated[Optional[list[str]], typer.Option("--experiment", help="experiment (repeatable; default: "
                                                            "every shipped experiment)")] = None,
    days: Annotated[Optional[int], typer.Option("--days", help=_help(EXPERIMENT, "days"))] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="replace archives of the same names")] = False,
) -> None:
    """Write a COMBINE archive (SBML + SED-ML) per experiment, to re-run the study outside awaken."""
    from awaken.api.export import export_omex as run

    with _user_errors(ctx):
        paths = run(directory, experiments=experiment, days=days, overwrite=overwrite)
    console.print(f"wrote {len(paths)} COMBINE archives to {directory} (SBML L3V2 + SED-ML L1V4 each; "
                  f"libsbml and libsedml: 0 errors)")


@app.command()
def fit(
    ctx: typer.Context,
    starts: Annotated[int, typer.Option("--starts", help=_help("awaken.calibration.settings.FitSettings", "starts"))] = 20,
    seed: Annotated[int, typer.Option("--seed", help="random seed (>= 0)")] = 0,
    max_iterations: Annotated[int, typer.Option("--max-iterations", help=_help("awaken.calibration.settings.FitSettings",
                                                                               "max_iterations"))] = 200,
    profiles: Annotated[Optional[list[str]], typer.Option("--profile", help="parameter to profile (repeatable; "
                                                          "default: all fitted parameters)")] = None,
    no_profiles: Annotated[bool, typer.Option("--no-profiles", help="skip the profile likelihoods")] = False,
    walkers: Annotated[int, typer.Option("--walkers", help=_help("awaken.calibration.settings.FitSettings",
                                                                 "walkers"))] = 48,
    generations: Annotated[int, typer.Option("--generations", help=_help("awaken.calibration.settings.FitSettings",
                                                                         "generations"))] = 400,
    ensemble_size: Annotated[int, typer.Option("--ensemble-size", help=_help("awaken.calibration.settings.FitSettings",
                                                                             "ensemble_size"))] = 200,
    out: OutOption = None,
    threads: ThreadsOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Fit the mouse lung model to the targets: multi-start, profiles, posterior ensemble, report."""
    from awaken.api.fit import fit as run

    with _user_errors(ctx), _bars() as bars:
        path = run(out or _default_out("fit"), starts=starts, seed=seed, max_iterations=max_iterations,
                   profiles=[] if no_profiles else profiles, walkers=walkers, generations=generations,
                   ensemble_size=ensemble_size, threads=threads, overwrite=overwrite, progress=bars, command=sys.argv)
    console.print(f"calibration written to {path} (report: {path / 'report.html'})")


@app.command()
def population(
    ctx: typer.Context,
    experiment: Annotated[str, typer.Option("--experiment", help="experiment name or experiment file")] = "influenza",
    n: Annotated[int, typer.Option("--n", help="individuals to keep (1-10,000,000)")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="random seed (>= 0)")] = 0,
    out: OutOption = None,
    output_days: Annotated[str, typer.Option("--output-days", help="comma-separated read-out days [d]")] =
        "0,3,6,9,12,15,21,28,42,60,90,120",
    envelope: Annotated[bool, typer.Option("--envelope/--no-envelope", help="accept only individuals inside the "
                                           "physiological envelope (viral clearance, IL-6 peak range)")] = True,
    threads: ThreadsOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Simulate a virtual population of lungs with the fast solver; per-individual read-outs to Parquet."""
    from awaken.api.population import simulate_population

    with _user_errors(ctx):
        days = _parse_numbers(output_days, "output_days", "0,15,28")
        target = out or _default_out("population")
        with _bars() as bars:
            pop = simulate_population(experiment, n=n, seed=seed, output_days=days, envelope=envelope,
                                      threads=threads, out=target, overwrite=overwrite, progress=bars,
                                      command=sys.argv)
    console.print(f"{pop.accepted} individuals of {pop.experiment.name} ({pop.candidates} candidates screened, "
                  f"acceptance {pop.acceptance_rate:.1%}) -> {target}")


# ---------------------------------------------------------------- the cohort and the analyses
@app.command()
def cohort(
    ctx: typer.Context,
    n: Annotated[int, typer.Option("--n", help="survivors to simulate (1-100,000,000)")] = 100_000,
    seed: Annotated[int, typer.Option("--seed", help="random seed (>= 0)")] = 0,
    workers: WorkersOption = 2,
    scheduler: SchedulerOption = None,
    scenario: Annotated[Optional[Path], typer.Option("--scenario", help="cohort scenario file (YAML/TOML; default: "
                                                     "the shipped default scenario)")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="cohort directory (default: runs/cohort-<time>); "
                                                "re-running into it finishes a killed run")] = None,
    block_size: Annotated[int, typer.Option("--block-size", help="people per block (1-1,000,000)")] = 50_000,
    overwrite: OverwriteOption = False,
) -> None:
    """Simulate a virtual cancer-survivor cohort into EHR-shaped Parquet tables (docs/data.md)."""
    from awaken.api.cohort import simulate_cohort as run

    target = out or _default_out("cohort")
    with _user_errors(ctx), _bars() as bars:
        done = run(n=n, seed=seed, out=target, scenario=scenario, workers=workers, scheduler=scheduler,
                   block_size=block_size, overwrite=overwrite, progress=bars, command=sys.argv)
    console.print(_table(f"cohort: {n:,} survivors", ["table", "rows"],
                         [[name, f"{rows:,}"] for name, rows in done.rows.items()], right=(1,)))
    resumed = f", {done.skipped_blocks} of {done.blocks} blocks already done" if done.skipped_blocks else ""
    console.print(f"{done.blocks} blocks in {done.seconds:.1f} s{resumed} -> {target} (run.json; query with DuckDB: "
                  f"read_parquet('{target}/patients/*.parquet'))")


CohortDirOption = Annotated[Path, typer.Option("--cohort", help="records: an `awaken cohort` directory, or a "
                                               "directory of <table>.parquet / <table>.csv files (docs/data.md)")]
AnalysisOutOption = Annotated[Optional[Path], typer.Option("--out", help="also keep the result as a run directory "
                                                           "(analysis.json, run.json)")]


def _ratio_rows(frame: Any, ratio: str) -> list[list[str]]:
    return [[str(label), f"{row[ratio]:.2f}", f"{row['lower']:.2f}-{row['upper']:.2f}", f"{row['p']:.2g}"]
            for label, row in frame.iterrows()]


def _counts(title: str, counts: dict) -> Table:
    return _table(title, ["", "n"], [[k.replace("_", " "), f"{v:,}"] for k, v in counts.items()], right=(1,))


@analyze_app.command("ukb")
def analyze_ukb(ctx: typer.Context, cohort: CohortDirOption, fmt: FormatOption = "table",
                out: AnalysisOutOption = None, overwrite: OverwriteOption = False) -> None:
    """UK Biobank design: SARS-CoV-2 test-positive vs test-negative survivors, cancer-specific death."""
    from awaken.api.analyses import analyze_ukb as run
    from awaken.targets import published

    with _user_errors(ctx):
        _check_format(fmt)
        result = run(cohort, out=out, overwrite=overwrite, command=sys.argv)
    if fmt == "json":
        return _json(result.to_dict())
    h1 = published("H1_ukb_cancer_death")
    console.print(_counts("UK Biobank design: survivors tested in the first pandemic year", result.counts))
    console.print(_table(f"odds ratio of cancer death, positive vs negative (published {h1['estimate']:g}, "
                         f"{h1['ci95'][0]:g}-{h1['ci95'][1]:g})", [result.odds_ratios.index.name or "", "OR",
                                                                   "95% CI", "p"],
                         _ratio_rows(result.odds_ratios, "OR"), right=(1, 2, 3)))
    console.print(_table("hazard ratio of cancer death by time since the positive test",
                         [result.hazard_ratios.index.name or "", "HR", "95% CI", "p"],
                         _ratio_rows(result.hazard_ratios, "HR"), right=(1, 2, 3)))
    console.print(f"excess concentrated in the first year (H2): {'yes' if result.first_year_excess else 'no'}")


@analyze_app.command("flatiron")
def analyze_flatiron(ctx: typer.Context, cohort: CohortDirOption, fmt: FormatOption = "table",
                     out: AnalysisOutOption = None, overwrite: OverwriteOption = False) -> None:
    """Flatiron design: recorded COVID-19 as a time-varying exposure, lung metastasis, death competing."""
    from awaken.api.analyses import analyze_flatiron as run

    with _user_errors(ctx):
        _check_format(fmt)
        result = run(cohort, out=out, overwrite=overwrite, command=sys.argv)
    if fmt == "json":
        return _json(result.to_dict())
    console.print(_counts("Flatiron design: breast cancer patients from the pandemic start", result.counts))
    console.print(_table("cause-specific hazard ratio of lung metastasis after a recorded COVID-19 diagnosis",
                         [result.hazard_ratios.index.name or "", "HR", "95% CI", "p"],
                         _ratio_rows(result.hazard_ratios, "HR"), right=(1, 2, 3)))
    horizon = result.settings.curve_months
    for group, value in result.incidence_at_horizon.items():
        console.print(f"cumulative incidence of lung metastasis at {horizon:g} months, {group}: {100 * value:.2f} %")


@app.command()
def power(
    ctx: typer.Context,
    design: Annotated[str, typer.Option("--design", help="flatiron (lung metastasis HR) or ukb (cancer-death OR)")] =
        "flatiron",
    n: Annotated[int, typer.Option("--n", help=_help("awaken.studies.power.PowerSettings", "n"))] = 36_845,
    strengths: Annotated[str, typer.Option("--strengths", help="true effects: comma-separated awakening_strength "
                                           "values (0 = no effect; the calibrated value is 0.008)")] =
        "0,0.0005,0.001,0.002,0.004,0.008",
    replicates: Annotated[int, typer.Option("--replicates", help=_help("awaken.studies.power.PowerSettings",
                                                                       "replicates"))] = 100,
    alpha: Annotated[float, typer.Option("--alpha", help=_help("awaken.studies.power.PowerSettings", "alpha"))] = 0.05,
    seed: Annotated[int, typer.Option("--seed", help="seed of replicate 0 (>= 0)")] = 0,
    workers: WorkersOption = 2,
    scheduler: SchedulerOption = None,
    out: OutOption = None,
    fmt: FormatOption = "table",
    overwrite: OverwriteOption = False,
) -> None:
    """Simulation-based power of a confirmatory cohort: power curve and smallest detectable ratio."""
    from awaken.api.power import power as run

    target = out or _default_out("power")
    with _user_errors(ctx):
        _check_format(fmt)
        values = _parse_numbers(strengths, "strengths", "0,0.002,0.008")
        with _bars() as bars:
            result = run(design=design, n=n, strengths=values, replicates=replicates, alpha=alpha, seed=seed,
                         workers=workers, scheduler=scheduler, out=target, overwrite=overwrite, progress=bars,
                         command=sys.argv)
    if fmt == "json":
        return _json(result.to_dict())
    s = result.settings
    console.print(_table(f"power of the {s.design} design, {s.n:,} people, {s.replicates} replicates per effect "
                         f"(alpha {s.alpha:g})", ["awakening_strength", f"mean {result.ratio_name}", "power",
                                                 "Monte Carlo SE"],
                         [[f"{r.strength:g}", f"{r.mean_ratio:.2f}", f"{r.power:.2f}", f"{r.power_se:.3f}"]
                          for _, r in result.curve.iterrows()], right=(0, 1, 2, 3)))
    detectable = "not reached" if result.smallest_detectable is None else f"{result.smallest_detectable:.2f}"
    console.print(f"smallest {result.ratio_name} detected with power {s.target_power:g}: {detectable} -> {target} "
                  f"(power_curve.png/.svg, replicates.parquet)")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
