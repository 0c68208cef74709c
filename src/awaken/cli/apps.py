"""The command line's apps and what every command shares: help texts from the schemas, input errors
with the command's own flags, progress bars, tables and JSON on the console.

Nothing a user wrote is ever read as rich markup: the consoles print text as it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from awaken.errors import InputError
from awaken.schemas import describe_field

__all__ = ["app", "experiment_app", "analyze_app", "export_app", "console", "errors", "field_help", "user_errors",
           "progress_bars", "default_out", "check_format", "print_json", "table", "parse_numbers", "print_scores"]

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
def field_help(schema: str, field: str) -> str:
    """A field's description, range and unit, from the command's schema (``awaken.api.settings.SCHEMAS``)."""
    from awaken.api.settings import SCHEMAS

    return describe_field(SCHEMAS[schema], field)


EXPERIMENT = "experiment"
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
def flags(ctx: typer.Context) -> dict[str, str]:
    """The command's field names -> its flags (``output_days`` -> ``--output-days``, ``file`` -> ``FILE``)."""
    return {p.name: (p.opts[0] if p.param_type_name == "option" else (p.metavar or p.name.upper()))
            for p in ctx.command.params if p.name}


@contextmanager
def user_errors(ctx: typer.Context) -> Iterator[None]:
    """Bad input: the schema's message with this command's flags, exit status 2."""
    try:
        yield
    except InputError as err:
        # fields of a file keep their names (they are keys in the file, not this command's options)
        errors.print(Text.assemble(("error: ", "bold red"), err.render(None if err.source else flags(ctx))))
        raise typer.Exit(code=2) from None


@contextmanager
def progress_bars() -> Iterator[Any]:
    from awaken.runs.progress import rich_progress

    with rich_progress(errors) as factory:
        yield factory


def default_out(prefix: str) -> Path:
    import datetime as dt

    return Path("runs") / f"{prefix}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"


def check_format(fmt: str) -> None:
    if fmt not in ("table", "json"):
        raise InputError.field("fmt", "choose 'table' or 'json'", fmt)


def print_json(value: Any) -> None:
    from awaken.runs.files import jsonable

    print(json.dumps(jsonable(value), indent=2, default=str))


def table(title: str, columns: list[str], rows: list[list[Any]], right: tuple[int, ...] = ()) -> Table:
    table = Table(title=title)
    for i, column in enumerate(columns):
        table.add_column(column, justify="right" if i in right else "left", overflow="fold")
    for row in rows:
        table.add_row(*[cell if isinstance(cell, Text) else Text(str(cell)) for cell in row])
    return table


def parse_numbers(text: str, field: str, example: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError.field(field, f"give comma-separated numbers, e.g. {example}", text) from None


def print_scores(scorecard: Any) -> None:
    """Compact scorecard for a terminal (the report and --format json carry the full wording)."""
    from awaken.api.experiments import format_band, format_value

    verdict = {None: Text("pending", "yellow"), True: Text("pass", "green"), False: Text("FAIL", "bold red")}
    console.print(table("scorecard (measures and sources: report.html or --format json)",
                         ["target", "band", "simulated", "result"],
                         [[s.id, format_band(s.band), format_value(s.simulated), verdict[s.passed]] for s in scorecard],
                         right=(1, 2)))
