"""Commands that export the lung model in the field's standards (SBML, PEtab, COMBINE/OMEX)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from awaken.cli.apps import (
    EXPERIMENT,
    OverwriteOption,
    console,
    export_app,
    field_help,
    user_errors,
)


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

    with user_errors(ctx):
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

    with user_errors(ctx):
        done = run(directory, overwrite=overwrite, command=sys.argv)
    console.print(f"wrote {done.problem}: {done.conditions} conditions, {done.measurements} measurements, "
                  f"{done.estimated} estimated parameters; petablint: passed")


@export_app.command("omex")
def export_omex(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="directory for the archives (<experiment>.omex)")],
    experiment: Annotated[Optional[list[str]], typer.Option("--experiment", help="experiment (repeatable; default: "
                                                            "every shipped experiment)")] = None,
    days: Annotated[Optional[int], typer.Option("--days", help=field_help(EXPERIMENT, "days"))] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="replace archives of the same names")] = False,
) -> None:
    """Write a COMBINE archive (SBML + SED-ML) per experiment, to re-run the study outside awaken."""
    from awaken.api.export import export_omex as run

    with user_errors(ctx):
        paths = run(directory, experiments=experiment, days=days, overwrite=overwrite)
    console.print(f"wrote {len(paths)} COMBINE archives to {directory} (SBML L3V2 + SED-ML L1V4 each; "
                  f"libsbml and libsedml: 0 errors)")
