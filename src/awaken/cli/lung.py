"""Commands of the lung: the flagship, virtual experiments, the scorecard, parameters, calibration,
virtual populations."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.text import Text

from awaken.cli.apps import (
    EXPERIMENT,
    FormatOption,
    OutOption,
    OverwriteOption,
    ThreadsOption,
    app,
    check_format,
    console,
    default_out,
    errors,
    experiment_app,
    field_help,
    parse_numbers,
    print_json,
    print_scores,
    progress_bars,
    table,
    user_errors,
)


@app.command()
def reproduce(
    ctx: typer.Context,
    out: OutOption = None,
    mice: Annotated[int, typer.Option("--mice", help=field_help("reproduce", "mice"))] = 4,
    seed: Annotated[int, typer.Option("--seed", help=field_help("reproduce", "seed"))] = 0,
    days: Annotated[int, typer.Option("--days", help=field_help("reproduce", "days"))] = 365,
    engine: Annotated[str, typer.Option("--engine", help=field_help("reproduce", "engine"))] =
        "reference",
    ensemble: Annotated[Optional[Path], typer.Option("--ensemble", help="calibration ensemble (ensemble.parquet of an "
                                                     "awaken fit run; default: the shipped one)")] = None,
    no_ensemble: Annotated[bool, typer.Option("--no-ensemble", help="no ensemble bands or pass fractions")] = False,
    survivors: Annotated[int, typer.Option("--survivors", help=field_help("reproduce",
                                                                     "survivors"))] = 100_000,
    overwrite: OverwriteOption = False,
) -> None:
    """Run every virtual experiment of the study, score the targets and write the report.

    Exit status 1 if any mouse target fails (the report is still written), 2 on bad input.
    """
    from awaken.api.reproduce import reproduce as run

    with user_errors(ctx), progress_bars() as bars:
        outcome = run(out or default_out("reproduce"), mice=mice, seed=seed, days=days, engine=engine,
                      ensemble=False if no_ensemble else (ensemble or True), survivors=survivors, overwrite=overwrite,
                      progress=bars, command=sys.argv)
    print_scores(outcome.scorecard)
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

    with user_errors(ctx):
        check_format(fmt)
        experiments = [load_experiment(n) for n in list_experiments()]
    if fmt == "json":
        return print_json([e.model_dump(mode="json") for e in experiments])
    rows = []
    for e in experiments:
        treatments = "; ".join(f"{t.kind} {t.start_day:g}-{'end' if t.end_day is None else f'{t.end_day:g}'} d"
                               for t in e.treatments) or "-"
        host = e.host.strain + (", IL-6 KO" if e.host.il6 == "knockout" else "")
        rows.append([e.name, host, e.virus.kind if e.virus else "PBS", treatments, e.description])
    console.print(table("virtual experiments", ["name", "host", "virus", "treatments", "description"], rows))


@experiment_app.command("run")
def experiment_run(
    ctx: typer.Context,
    experiment: Annotated[str, typer.Argument(help="experiment name (see 'awaken experiment list') or an experiment "
                                              "file (.yaml/.toml)")],
    days: Annotated[Optional[int], typer.Option("--days", help=field_help(EXPERIMENT, "days"))] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help=field_help(EXPERIMENT, "seed"))] = None,
    mice: Annotated[Optional[int], typer.Option("--mice", help=field_help(EXPERIMENT, "mice"))] = None,
    engine: Annotated[str, typer.Option("--engine", help=field_help("reproduce", "engine"))] =
        "reference",
    out: OutOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Run one virtual experiment and write its tables, figure and report."""
    from awaken.api.experiments import run_experiment

    with user_errors(ctx), progress_bars() as bars:
        target = out or default_out(Path(experiment).stem)
        result = run_experiment(experiment, days=days, seed=seed, mice=mice, engine=engine, out=target,
                                overwrite=overwrite, progress=bars, command=sys.argv)
    tc = result.timecourse.set_index("day")
    rows = [[f"{day}", f"{r.dcc_count:.3g}", f"{r.proliferating_fraction:.3f}", f"{r.hybrid_fraction:.3f}",
             f"{r.il6_pg_per_ml:.3g}", f"{r.virus_titer:.3g}"]
            for day, r in tc.iterrows() if day in (0, 3, 6, 9, 15, 28, 60, 365)]
    console.print(table(f"{result.name}: group means ({result.per_mouse['mouse'].nunique()} mice)",
                         ["day", "dcc_count", "proliferating_fraction", "hybrid_fraction", "il6_pg_per_ml",
                          "virus_titer"], rows, right=tuple(range(6))))
    console.print(f"Report: {target / 'report.html'}")


@app.command()
def targets(
    ctx: typer.Context,
    fmt: FormatOption = "table",
    run: Annotated[Optional[Path], typer.Option("--run", help="read the scorecard of an existing run directory "
                                                "instead of simulating")] = None,
    mice: Annotated[int, typer.Option("--mice", help=field_help(EXPERIMENT, "mice"))] = 4,
    seed: Annotated[int, typer.Option("--seed", help=field_help(EXPERIMENT, "seed"))] = 0,
    days: Annotated[int, typer.Option("--days", help="simulated days per experiment (28-3650; targets read out up to "
                                      "28 dpi) [d]")] = 60,
    engine: Annotated[str, typer.Option("--engine", help=field_help("reproduce", "engine"))] = "reference",
) -> None:
    """The scorecard: every target of targets.yaml with its band, the simulated value and pass/fail."""
    from awaken.api.experiments import read_scorecard, score_targets

    with user_errors(ctx):
        check_format(fmt)
        if run is not None:
            scorecard = read_scorecard(run)
        else:
            with progress_bars() as bars:
                scorecard = score_targets(mice=mice, seed=seed, days=days, engine=engine, progress=bars)
    if fmt == "json":
        return print_json(scorecard.to_records())
    print_scores(scorecard)


@app.command()
def validate(ctx: typer.Context,
             file: Annotated[Path, typer.Argument(help="experiment file (.yaml, .yml or .toml)")]) -> None:
    """Check an experiment file: unknown keys, types and ranges. Exit status 2 if invalid."""
    from awaken.api.experiments import validate_experiment

    with user_errors(ctx):
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

    with user_errors(ctx):
        check_format(fmt)
        rows = parameter_table(species, virus)
    if fmt == "json":
        return print_json([p.model_dump() for p in rows])
    console.print(table(f"{species} lung parameters ({virus or 'default strain'})",
                         ["name", "value", "unit", "range", "cv", "source"],
                         [[p.name, f"{p.value:g}", p.unit, f"{p.range[0]:g} - {p.range[1]:g}", f"{p.cv:g}", p.source]
                          for p in rows]))


# ---------------------------------------------------------------- standards

@app.command()
def fit(
    ctx: typer.Context,
    starts: Annotated[int, typer.Option("--starts", help=field_help("fit", "starts"))] = 20,
    seed: Annotated[int, typer.Option("--seed", help=field_help("fit", "seed"))] = 0,
    max_iterations: Annotated[int, typer.Option("--max-iterations", help=field_help("fit",
                                                                               "max_iterations"))] = 200,
    profiles: Annotated[Optional[list[str]], typer.Option("--profile", help="parameter to profile (repeatable; "
                                                          "default: all fitted parameters)")] = None,
    no_profiles: Annotated[bool, typer.Option("--no-profiles", help="skip the profile likelihoods")] = False,
    walkers: Annotated[int, typer.Option("--walkers", help=field_help("fit",
                                                                 "walkers"))] = 48,
    generations: Annotated[int, typer.Option("--generations", help=field_help("fit",
                                                                         "generations"))] = 400,
    ensemble_size: Annotated[int, typer.Option("--ensemble-size", help=field_help("fit",
                                                                             "ensemble_size"))] = 200,
    out: OutOption = None,
    threads: ThreadsOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Fit the mouse lung model to the targets: multi-start, profiles, posterior ensemble, report."""
    from awaken.api.fit import fit as run

    with user_errors(ctx), progress_bars() as bars:
        path = run(out or default_out("fit"), starts=starts, seed=seed, max_iterations=max_iterations,
                   profiles=[] if no_profiles else profiles, walkers=walkers, generations=generations,
                   ensemble_size=ensemble_size, threads=threads, overwrite=overwrite, progress=bars, command=sys.argv)
    console.print(f"calibration written to {path} (report: {path / 'report.html'})")


@app.command()
def population(
    ctx: typer.Context,
    experiment: Annotated[str, typer.Option("--experiment", help="experiment name or experiment file")] = "influenza",
    n: Annotated[int, typer.Option("--n", help=field_help("population", "n"))] = 1000,
    seed: Annotated[int, typer.Option("--seed", help=field_help("population", "seed"))] = 0,
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

    with user_errors(ctx):
        days = parse_numbers(output_days, "output_days", "0,15,28")
        target = out or default_out("population")
        with progress_bars() as bars:
            pop = simulate_population(experiment, n=n, seed=seed, output_days=days, envelope=envelope,
                                      threads=threads, out=target, overwrite=overwrite, progress=bars,
                                      command=sys.argv)
    console.print(f"{pop.accepted} individuals of {pop.experiment.name} ({pop.candidates} candidates screened, "
                  f"acceptance {pop.acceptance_rate:.1%}) -> {target}")
