"""The lung model in the field's standards, from Python: the twins of ``awaken export sbml|petab|omex``.

Example
-------
>>> import tempfile, pathlib, awaken
>>> with tempfile.TemporaryDirectory() as tmp:
...     sbml = awaken.export_sbml(pathlib.Path(tmp) / "lung.xml", experiment="anti_cd4_influenza")
...     print(sbml.reactions, sbml.events, sbml.errors)
52 3 0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from awaken.errors import InputError
from awaken.experiments.catalogue import list_experiments, resolve_experiment, with_overrides
from awaken.experiments.protocol import Experiment
from awaken.runs.destination import protected_paths
from awaken.runs.directory import RunDirectory
from awaken.runs.provenance import python_call

__all__ = ["export_sbml", "export_petab", "export_omex", "SBMLExport", "PetabExport"]


@dataclass(frozen=True)
class SBMLExport:
    """What an SBML export wrote."""

    path: Path
    species: int
    reactions: int
    parameters: int
    rules: int
    events: int
    errors: int
    warnings: int


@dataclass(frozen=True)
class PetabExport:
    """What a PEtab export wrote."""

    problem: Path
    conditions: int
    measurements: int
    estimated: int


def _check_target(path: Path, field: str, *, directory: bool) -> None:
    """Refuse paths in awaken's own tree, and parents that do not exist or are files."""
    resolved = path.resolve()
    for protected in protected_paths():
        if resolved == protected or protected in resolved.parents or resolved in protected.parents:
            raise InputError.field(field, f"lies in awaken's own package or source tree ({protected})", path)
    if not path.parent.is_dir():
        raise InputError.field(field, f"directory {path.parent} does not exist", path)
    if directory and path.exists() and not path.is_dir():
        raise InputError.field(field, "exists and is not a directory", path)
    if not directory and path.is_dir():
        raise InputError.field(field, "is a directory", path)


def export_sbml(file: str | Path, experiment: str | Path | Experiment = "influenza", preequilibration: bool = False,
                overwrite: bool = False) -> SBMLExport:
    """Write the lung model and one experiment's schedule as SBML Level 3 Version 2, validated by
    libsbml (no errors; unit warnings are counted). ``preequilibration`` carries the 365-day
    pre-equilibration in the model (experiment day d = model time 365 + d) instead of its result."""
    from awaken.export.sbml import consistency_report, write_sbml

    file = Path(file)
    if file.suffix.lower() not in (".xml", ".sbml"):
        raise InputError.field("file", "the SBML file name must end in .xml or .sbml", file)
    _check_target(file, "file", directory=False)
    if file.exists() and not overwrite:
        raise InputError.field("file", "already exists; choose a new name", file, remedy="overwrite")
    chosen = resolve_experiment(experiment)
    document = write_sbml(file, chosen, preequilibration=preequilibration)
    errors, warnings, _ = consistency_report(document)
    model = document.getModel()
    return SBMLExport(path=file, species=model.getNumSpecies(), reactions=model.getNumReactions(),
                      parameters=model.getNumParameters(), rules=model.getNumRules(), events=model.getNumEvents(),
                      errors=errors, warnings=warnings)


def export_petab(directory: str | Path, overwrite: bool = False, command: list[str] | None = None) -> PetabExport:
    """Write the mouse calibration as a PEtab v1 problem (checked by libsbml and petab's linter) into
    ``directory``, which appears whole or not at all; ``overwrite`` replaces only an earlier export."""
    import pandas as pd

    from awaken.calibration.petab_problem import write_petab

    run = RunDirectory(directory, kind="petab", overwrite=overwrite, field="directory",
                       command=command or python_call("export_petab", directory=directory))
    with run:
        write_petab(run.path)
    measurements = pd.read_csv(Path(directory) / "measurements.tsv", sep="\t")
    parameters = pd.read_csv(Path(directory) / "parameters.tsv", sep="\t")
    return PetabExport(problem=Path(directory) / "problem.yaml",
                       conditions=int(measurements["simulationConditionId"].nunique()),
                       measurements=len(measurements), estimated=int(parameters["estimate"].sum()))


def export_omex(directory: str | Path, experiments: Sequence[str | Path | Experiment] | None = None,
                days: int | None = None, overwrite: bool = False) -> list[Path]:
    """Write one COMBINE archive (SBML + SED-ML + the experiment file) per experiment (default: every
    shipped one) into ``directory``; ``overwrite`` replaces archives of the same names, nothing else."""
    from awaken.export.omex import write_omex

    directory = Path(directory)
    _check_target(directory, "directory", directory=True)
    chosen = [resolve_experiment(e) for e in (experiments or list_experiments())]
    if days is not None:
        chosen = [with_overrides(e, days=days) for e in chosen]
    clashes = [str(directory / f"{e.name}.omex") for e in chosen if (directory / f"{e.name}.omex").exists()]
    if clashes and not overwrite:
        raise InputError.field("directory", f"{', '.join(clashes)} already exist; choose another directory", directory,
                               remedy="overwrite")
    return write_omex(directory, chosen, overwrite=overwrite)
