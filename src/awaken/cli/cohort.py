"""Commands of the cohort and the analyses: virtual survivors, the study's designs, power."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from awaken.cli.apps import (
    FormatOption,
    OutOption,
    OverwriteOption,
    SchedulerOption,
    WorkersOption,
    analyze_app,
    app,
    check_format,
    console,
    default_out,
    field_help,
    parse_numbers,
    print_json,
    progress_bars,
    table,
    user_errors,
)


@app.command()
def cohort(
    ctx: typer.Context,
    n: Annotated[int, typer.Option("--n", help=field_help("cohort", "n"))] = 100_000,
    seed: Annotated[int, typer.Option("--seed", help=field_help("cohort", "seed"))] = 0,
    workers: WorkersOption = 2,
    scheduler: SchedulerOption = None,
    scenario: Annotated[Optional[Path], typer.Option("--scenario", help="cohort scenario file (YAML/TOML; default: "
                                                     "the shipped default scenario)")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="cohort directory (default: runs/cohort-<time>); "
                                                "re-running into it finishes a killed run")] = None,
    block_size: Annotated[int, typer.Option("--block-size", help=field_help("cohort", "block_size"))] = 50_000,
    overwrite: OverwriteOption = False,
) -> None:
    """Simulate a virtual cancer-survivor cohort into EHR-shaped Parquet tables (docs/data.md)."""
    from awaken.api.cohort import simulate_cohort as run

    target = out or default_out("cohort")
    with user_errors(ctx), progress_bars() as bars:
        done = run(n=n, seed=seed, out=target, scenario=scenario, workers=workers, scheduler=scheduler,
                   block_size=block_size, overwrite=overwrite, progress=bars, command=sys.argv)
    console.print(table(f"cohort: {n:,} survivors", ["table", "rows"],
                         [[name, f"{rows:,}"] for name, rows in done.rows.items()], right=(1,)))
    resumed = f", {done.skipped_blocks} of {done.blocks} blocks already done" if done.skipped_blocks else ""
    console.print(f"{done.blocks} blocks in {done.seconds:.1f} s{resumed} -> {target} (run.json; query with DuckDB: "
                  f"read_parquet('{target}/patients/*.parquet'))")


CohortDirOption = Annotated[Path, typer.Option("--cohort", help="records: an `awaken cohort` directory, or a "
                                               "directory of <table>.parquet / <table>.csv files (docs/data.md)")]
AnalysisOutOption = Annotated[Optional[Path], typer.Option("--out", help="also keep the result as a run directory "
                                                           "(analysis.json, run.json)")]
DropImplausibleOption = Annotated[bool, typer.Option("--drop-implausible", help="leave out the persons whose records "
                                                     "cannot be true (dates out of order, a record after death; "
                                                     "docs/data.md) and count them, instead of refusing the records")]


def _ratios(title: str, frame: Any, ratio: str) -> Table:
    """A table of ratios (OR or HR) with their 95% CI and p-value, one row per line of ``frame``; a ratio
    the records cannot estimate (NaN) says so (the result's notes say why)."""
    def cells(row: Any) -> list[str]:
        if math.isnan(row[ratio]):
            return ["not estimable", "", ""]
        return [f"{row[ratio]:.2f}", f"{row['lower']:.2f}-{row['upper']:.2f}", f"{row['p']:.2g}"]

    return table(title, [frame.index.name or "", ratio, "95% CI", "p"],
                 [[str(label), *cells(row)] for label, row in frame.iterrows()], right=(1, 2, 3))


def _notes(notes: tuple[str, ...]) -> None:
    for note in notes:
        console.print(f"note: {note}")


def _counts(title: str, counts: dict) -> Table:
    return table(title, ["", "n"], [[k.replace("_", " "), f"{v:,}"] for k, v in counts.items()], right=(1,))


@analyze_app.command("ukb")
def analyze_ukb(ctx: typer.Context, cohort: CohortDirOption, fmt: FormatOption = "table",
                out: AnalysisOutOption = None, overwrite: OverwriteOption = False,
                drop_implausible: DropImplausibleOption = False) -> None:
    """UK Biobank design: SARS-CoV-2 test-positive vs test-negative survivors, cancer-specific death."""
    from awaken.api.analyses import analyze_ukb as run
    from awaken.api.analyses import published

    with user_errors(ctx):
        check_format(fmt)
        result = run(cohort, drop_implausible=drop_implausible, out=out, overwrite=overwrite, command=sys.argv)
    if fmt == "json":
        return print_json(result.to_dict())
    h1 = published("H1_ukb_cancer_death")
    console.print(_counts("UK Biobank design: survivors tested in the first pandemic year", result.counts))
    console.print(_ratios(f"odds ratio of cancer death, positive vs negative (published {h1['estimate']:g}, "
                          f"{h1['ci95'][0]:g}-{h1['ci95'][1]:g})", result.odds_ratios, "OR"))
    console.print(_ratios("hazard ratio of cancer death by time since the positive test", result.hazard_ratios, "HR"))
    excess = result.first_year_excess
    console.print(f"excess concentrated in the first year (H2): "
                  f"{'not estimable' if excess is None else 'yes' if excess else 'no'}")
    _notes(result.notes)


@analyze_app.command("flatiron")
def analyze_flatiron(ctx: typer.Context, cohort: CohortDirOption, fmt: FormatOption = "table",
                     out: AnalysisOutOption = None, overwrite: OverwriteOption = False,
                     drop_implausible: DropImplausibleOption = False) -> None:
    """Flatiron design: recorded COVID-19 as a time-varying exposure, lung metastasis, death competing."""
    from awaken.api.analyses import analyze_flatiron as run

    with user_errors(ctx):
        check_format(fmt)
        result = run(cohort, drop_implausible=drop_implausible, out=out, overwrite=overwrite, command=sys.argv)
    if fmt == "json":
        return print_json(result.to_dict())
    console.print(_counts("Flatiron design: breast cancer patients from the pandemic start", result.counts))
    console.print(_ratios("cause-specific hazard ratio of lung metastasis after a recorded COVID-19 diagnosis",
                          result.hazard_ratios, "HR"))
    horizon = result.settings.curve_months
    for group, value in result.incidence_at_horizon.items():
        shown = "not estimable" if math.isnan(value) else f"{100 * value:.2f} %"
        console.print(f"cumulative incidence of lung metastasis at {horizon:g} months, {group}: {shown}")
    _notes(result.notes)


@app.command()
def power(
    ctx: typer.Context,
    design: Annotated[str, typer.Option("--design", help="flatiron (lung metastasis HR) or ukb (cancer-death OR)")] =
        "flatiron",
    n: Annotated[int, typer.Option("--n", help=field_help("power", "n"))] = 36_845,
    strengths: Annotated[str, typer.Option("--strengths", help="true effects: comma-separated awakening_strength "
                                           "values (0 = no effect; the calibrated value is 0.008)")] =
        "0,0.0005,0.001,0.002,0.004,0.008",
    replicates: Annotated[int, typer.Option("--replicates", help=field_help("power",
                                                                       "replicates"))] = 100,
    alpha: Annotated[float, typer.Option("--alpha", help=field_help("power", "alpha"))] = 0.05,
    seed: Annotated[int, typer.Option("--seed", help="seed of replicate 0 (>= 0)")] = 0,
    workers: WorkersOption = 2,
    scheduler: SchedulerOption = None,
    out: OutOption = None,
    fmt: FormatOption = "table",
    overwrite: OverwriteOption = False,
) -> None:
    """Simulation-based power of a confirmatory cohort: power curve and smallest detectable ratio."""
    from awaken.api.power import power as run

    target = out or default_out("power")
    with user_errors(ctx):
        check_format(fmt)
        values = parse_numbers(strengths, "strengths", "0,0.002,0.008")
        with progress_bars() as bars:
            result = run(design=design, n=n, strengths=values, replicates=replicates, alpha=alpha, seed=seed,
                         workers=workers, scheduler=scheduler, out=target, overwrite=overwrite, progress=bars,
                         command=sys.argv)
    if fmt == "json":
        return print_json(result.to_dict())
    s = result.settings
    console.print(table(f"power of the {s.design} design, {s.n:,} people, {s.replicates} replicates per effect "
                         f"(alpha {s.alpha:g})", ["awakening_strength", f"mean {result.ratio_name}", "power",
                                                 "Monte Carlo SE"],
                         [[f"{r.strength:g}", f"{r.mean_ratio:.2f}", f"{r.power:.2f}", f"{r.power_se:.3f}"]
                          for _, r in result.curve.iterrows()], right=(0, 1, 2, 3)))
    detectable = "not reached" if result.smallest_detectable is None else f"{result.smallest_detectable:.2f}"
    console.print(f"smallest {result.ratio_name} detected with power {s.target_power:g}: {detectable} -> {target} "
                  f"(power_curve.png/.svg, replicates.parquet)")


@app.command()
def explain(
    ctx: typer.Context,
    n: Annotated[int, typer.Option("--n", help=field_help("explain", "n"))] = 300_000,
    seeds: Annotated[str, typer.Option("--seeds", help="comma-separated cohort seeds; a particle must meet every "
                                                       "target on every seed")] = "2020,2021",
    particles: Annotated[int, typer.Option("--particles", help=field_help("explain", "particles"))] = 32,
    combinations: Annotated[Optional[str], typer.Option(
        "--combinations", help="comma-separated combinations of mechanisms (default: all; see docs/analyses.md)")] = None,
    replicates: Annotated[int, typer.Option("--replicates", help=field_help("explain", "replicates"))] = 200,
    prior_seed: Annotated[int, typer.Option("--prior-seed", help=field_help("explain", "prior_seed"))] = 7,
    out: OutOption = None,
    fmt: FormatOption = "table",
    overwrite: OverwriteOption = False,
) -> None:
    """Which explanations of the human excess hold together: joint calibration (ABC) of the mechanisms to
    H1, H2, C5 and P1, and the UK Biobank design at its real size under each."""
    from awaken.api.explanations import explain as run

    target = out or default_out("explain")
    with user_errors(ctx):
        check_format(fmt)
        seed_list = [int(s) if float(s).is_integer() else s for s in parse_numbers(seeds, "seeds", "2020,2021")]
        names = None if combinations is None else [c.strip() for c in combinations.split(",") if c.strip()]
        with progress_bars() as bars:
            result = run(n=n, seeds=seed_list, particles=particles, combinations=names, replicates=replicates,
                         prior_seed=prior_seed, out=target, overwrite=overwrite, progress=bars, command=sys.argv)
    if fmt == "json":
        return print_json(result.to_dict())
    summary = result.summary
    parameters = [c for c in summary.columns if c not in ("particles", "accepted", "acceptance",
                                                           "bayes_factor_vs_best", "causal_share")
                  and not c.startswith("predicted ")]
    console.print(table(f"explanations of the human excess ({result.settings.n:,} survivors x "
                        f"{len(result.settings.seeds)} seeds, {result.settings.particles} prior draws each)",
                        ["combination", "accepted", "Bayes factor", "causal share of log OR", *parameters],
                        [[name, f"{int(r.accepted)}/{int(r.particles)}", f"{r.bayes_factor_vs_best:.2f}",
                          str(r.causal_share), *[str(r[p]) if isinstance(r[p], str) else "-" for p in parameters]]
                         for name, r in summary.iterrows()], right=(1, 2)))
    for note in result.notes:
        console.print(f"note: {note}")
    console.print(f"-> {target} (particles.parquet, summary.csv, real_size.parquet, figures/explanations.png)")
