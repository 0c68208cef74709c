"""``awaken trial``: in-silico trials on the survivors and the mouse window of opportunity."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from awaken.cli.apps import (
    FormatOption,
    OutOption,
    OverwriteOption,
    SchedulerOption,
    WorkersOption,
    app,
    check_format,
    console,
    default_out,
    print_json,
    progress_bars,
    table,
    user_errors,
)

trial_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                        help="In-silico trials: IL-6 blockade, JAK inhibition, antivirals, vaccination, surveillance.")
app.add_typer(trial_app, name="trial")


@trial_app.command("run")
def run(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="trial file (YAML or TOML; examples/trials/*.yaml)")],
    size: Annotated[Optional[int], typer.Option("--size", help="participants screened per explanation "
                                                "(100-10,000,000; default: the file's)")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="random seed (default: the file's)")] = None,
    window: Annotated[bool, typer.Option("--window/--no-window", help="add the mouse window of opportunity "
                                         "(MR16-1, oseltamivir, anti-CD4 by start day; about 10 s)")] = True,
    workers: WorkersOption = 2,
    scheduler: SchedulerOption = None,
    out: OutOption = None,
    fmt: FormatOption = "table",
    overwrite: OverwriteOption = False,
) -> None:
    """Run a trial: every participant under every arm (common random numbers), analysed; writes a report."""
    from awaken.api.trials import run_trial

    target = out or default_out("trial")
    with user_errors(ctx):
        check_format(fmt)
        with progress_bars() as bars:
            result = run_trial(file, size=size, seed=seed, window=window, workers=workers, scheduler=scheduler,
                               out=target, overwrite=overwrite, progress=bars, command=sys.argv)
    if fmt == "json":
        return print_json(result.to_dict())
    effects = result.outcomes.effects
    rows = [[e["explanation"], e["endpoint"], e["arm"], f"{1000 * e['rd_paired']:+.2f}",
             f"{e['hr']:.2f} ({e['hr_lower']:.2f}-{e['hr_upper']:.2f})", e["nnt_paired_text"]]
            for _, e in effects.iterrows()]
    console.print(table(f"trial {result.trial.name}: effects by the end of follow-up",
                        ["explanation", "endpoint", "arm", "RD per 1,000 (paired)", "HR (as allocated)", "NNT"], rows))
    console.print(f"report: {target / 'report.html'}")


@trial_app.command("window")
def window(
    ctx: typer.Context,
    mice: Annotated[int, typer.Option("--mice", help="mice per group (1-1000)")] = 8,
    members: Annotated[int, typer.Option("--members", help="ensemble members (1-200)")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="random seed of the mice")] = 0,
    out: OutOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """The mouse window of opportunity: DCC burden at 15, 28 and 60 dpi against the day a drug starts."""
    from awaken.api.trials import trial_window

    target = out or default_out("window")
    with user_errors(ctx):
        result = trial_window(mice=mice, members=members, seed=seed, out=target, overwrite=overwrite)
    at28 = result[result["read_day"] == 28]
    rows = [[r["drug"], f"{r['start_day']:g}", f"{r['effect']:.3f}", f"{r['mouse_low']:.3f}-{r['mouse_high']:.3f}",
             f"{r['ensemble_low']:.3f}-{r['ensemble_high']:.3f}"] for _, r in at28.iterrows()]
    console.print(table("DCC count at 28 dpi, treated / untreated", ["drug", "start (dpi)", "ratio", "mice 10-90 %",
                                                                       "ensemble 5-95 %"], rows))
    console.print(f"run: {target}")


@trial_app.command("validate")
def validate(ctx: typer.Context, file: Annotated[Path, typer.Argument(help="trial file (.yaml, .yml or .toml)")]
             ) -> None:
    """Check a trial file: unknown keys, types, ranges, drugs and arms. Exit status 2 if invalid."""
    from awaken.api.trials import load_trial

    with user_errors(ctx):
        trial = load_trial(file)
    console.print(f"ok: {file} is a valid trial ({trial.name}: {len(trial.arms)} arms, "
                  f"{len(trial.explanations)} explanations, {trial.size:,} participants each)")


@trial_app.command("drugs")
def drugs(ctx: typer.Context,
          name: Annotated[Optional[str], typer.Argument(help="one drug (default: every drug)")] = None,
          fmt: FormatOption = "table") -> None:
    """The drug table: every PK and PD value with its unit, plausible range, variability and source."""
    from awaken.api.trials import drug_table

    with user_errors(ctx):
        check_format(fmt)
        rows = drug_table(name)
    if fmt == "json":
        return print_json(rows)
    console.print(table("drugs: the doses allowed, PK and PD (awaken/pharmacology/data/drugs.yaml)",
                        ["drug", "parameter", "value", "unit", "range", "cv", "source"],
                        [[r["drug"], r["parameter"], f"{r['value']:g}", r["unit"],
                          f"{r['range'][0]:g} - {r['range'][1]:g}", f"{r['cv']:g}", r["source"]] for r in rows]))
