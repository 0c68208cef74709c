"""The mouse calibration as a PEtab v1 problem, generated from the targets and the model.

Layout of the directory :func:`write_petab` creates::

    problem.yaml        PEtab v1 problem file (format_version 1)
    model.xml           the parametric SBML model (awaken.export.sbml.parametric_document)
    conditions.tsv      one condition per virtual experiment the targets need
    observables.tsv     one observable per band of the likelihood
    measurements.tsv    sorted by condition, then time
    parameters.tsv      the fitted parameters (scales, bounds, priors) and the scaling factors

**Time.** The model carries its own 365-day pre-equilibration: experiment day ``d`` is PEtab time
``365 + d``; no PEtab pre-equilibration condition is needed.

**Fold changes.** PEtab observables see one condition at a time, so a fold change (treated /
control) is written as relative data, the standard PEtab idiom: the observable is
``readout / scale_<id>`` with an estimated scaling factor shared by the treated and the control
rows; the control row measures 1 with :data:`CONTROL_SIGMA` (a hundredth of a decade), the
treated row the band. Profiling the scaling factor out gives exactly the fold-change likelihood
of :mod:`awaken.calibration.likelihood` for closed bands (treated sigma is chosen so that the two
variances add up to the band's) and the same up to the control's hundredth of a decade for open
ones.

**Open bands.** PEtab v1 has no censored noise model. Rows of open bands carry pyPESTO's
extension columns ``measurementType`` (``right-censored``: at least; ``left-censored``: at most)
and ``censoringBounds`` (the band's edge); their ``measurement`` is what a PEtab v1 reader that
ignores those columns gets: a log-normal (normal, for fractions) measurement two sigma inside the
edge. ``awaken fit`` uses the censored likelihood.

**Not in the problem.** M3 (day of the proliferation peak) and M11 (maximum difference of two
viral curves) are not read-outs at a time point; they stay scorecard checks.

Example
-------
>>> tables = petab_tables()
>>> sorted(tables)
['conditions', 'measurements', 'observables', 'parameters']
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import libsbml
import pandas as pd
import yaml

from awaken.calibration.likelihood import CalibrationDatum, calibration_data, calibration_experiments
from awaken.experiments.catalogue import load_experiment
from awaken.export.sbml import (
    NEVER,
    READOUT_PREFIX,
    SWITCHED_CONTROLS,
    consistency_report,
    parametric_document,
    schedule_parameters,
)
from awaken.lung import equations
from awaken.lung.parameters import Parameter, fitted_parameters, load_parameter_table
from awaken.scorecard import Ratio
from awaken.solvers.reference import PREEQUILIBRATION_DAYS
from awaken.solvers.schedule import animal_setup

__all__ = ["petab_tables", "write_petab", "fitted_parameters", "parameter_scale", "CONTROL_SIGMA", "PetabExportError",
           "observable_id", "scale_id"]

#: Noise of a fold change's control row (decades): small, so profiling the scaling factor pins it
#: to the control group.
CONTROL_SIGMA = 0.01
VIRUS = "influenza_a_pr8"


class PetabExportError(RuntimeError):
    """The PEtab problem could not be built or does not validate."""


def parameter_scale(p: Parameter) -> str:
    """PEtab scale of a fitted parameter: log10, or lin when its plausible range reaches 0."""
    return "log10" if p.range[0] > 0 else "lin"


def observable_id(datum: CalibrationDatum, control: bool = False) -> str:
    return f"obs_{datum.id}" + ("_control" if control else "")


def scale_id(datum: CalibrationDatum) -> str:
    return f"scale_{datum.id}"


def _conditions() -> pd.DataFrame:
    table = load_parameter_table("mouse")
    nominal = table.nominal(VIRUS)
    constant_controls = [c for c in equations.CONTROLS if c not in SWITCHED_CONTROLS]
    schedule_columns = [f"{c}_{edge}_day" for c in SWITCHED_CONTROLS for edge in ("start", "end")]
    rows = []
    for name in calibration_experiments():
        scenario = load_experiment(name)
        if scenario.virus_kind != VIRUS:
            raise PetabExportError(f"experiment {name} uses {scenario.virus_kind}; the problem is for {VIRUS}")
        params, controls, events = animal_setup(scenario, {**nominal, **scenario.parameters})
        values = schedule_parameters(events)
        row = {"conditionId": name, "conditionName": name}
        row.update({c: controls[c] for c in constant_controls})
        row.update({column: values.get(column, NEVER) for column in schedule_columns})
        for key in sorted(k for k in values if k.startswith("dose_")):
            row[key] = values[key]
        row["dcc_initial"] = params["dcc_initial"]
        rows.append(row)
    frame = pd.DataFrame(rows)
    dose_columns = [c for c in frame.columns if c.startswith("dose_")]
    for column in dose_columns:  # uninfected conditions: no dose, never
        frame[column] = frame[column].fillna(NEVER if column.endswith("_day") else 0.0)
    return frame


def _treated_sigma(datum: CalibrationDatum) -> float:
    """Noise of the treated row: for a closed band's fold change, the band's variance less the control's."""
    noise = datum.noise
    if isinstance(datum.measure, Ratio) and noise.kind == "normal":
        return math.sqrt(noise.sigma ** 2 - CONTROL_SIGMA ** 2)
    return noise.sigma


def _observables(data: tuple[CalibrationDatum, ...]) -> pd.DataFrame:
    """One observable per band (and one per fold change's control row); noise is a number in the
    formula, so no measurement row overrides it (pyPESTO refuses time-point-specific overrides)."""
    rows = []
    for datum in data:
        readout = READOUT_PREFIX + datum.measure.readout
        is_ratio = isinstance(datum.measure, Ratio)
        formula = f"{readout} / {scale_id(datum)}" if is_ratio else readout
        name = f"{datum.target} {datum.part or ''}".strip()
        rows.append({"observableId": observable_id(datum), "observableName": name, "observableFormula": formula,
                     "observableTransformation": datum.noise.scale, "noiseFormula": _treated_sigma(datum),
                     "noiseDistribution": "normal"})
        if is_ratio:
            rows.append({"observableId": observable_id(datum, control=True), "observableName": f"{name} (control)",
                         "observableFormula": formula, "observableTransformation": datum.noise.scale,
                         "noiseFormula": CONTROL_SIGMA, "noiseDistribution": "normal"})
    return pd.DataFrame(rows)


def _v1_value(datum: CalibrationDatum) -> float:
    """The measurement a PEtab v1 reader sees (see the module docstring)."""
    noise = datum.noise
    shift = {"normal": 0.0, "at_least": 2 * noise.sigma, "at_most": -2 * noise.sigma}[noise.kind]
    x = noise.centre + shift
    return 10.0 ** x if noise.scale == "log10" else x


def _measurements(data: tuple[CalibrationDatum, ...]) -> pd.DataFrame:
    rows = []
    censoring = {"normal": "", "at_least": "right-censored", "at_most": "left-censored"}
    for datum in data:
        m, noise = datum.measure, datum.noise
        kind = censoring[noise.kind]
        bound = "" if noise.kind == "normal" else repr(noise.edges()[0 if noise.kind == "at_least" else 1])
        if isinstance(m, Ratio):
            rows.append({"observableId": observable_id(datum, control=True), "simulationConditionId": m.control,
                         "time": PREEQUILIBRATION_DAYS + m.reference_day, "measurement": 1.0,
                         "datasetId": datum.target, "measurementType": "", "censoringBounds": ""})
            condition = m.treated
        else:
            condition = m.experiment
        rows.append({"observableId": observable_id(datum), "simulationConditionId": condition,
                     "time": PREEQUILIBRATION_DAYS + m.day, "measurement": _v1_value(datum),
                     "datasetId": datum.target, "measurementType": kind, "censoringBounds": bound})
    frame = pd.DataFrame(rows)
    # pyPESTO 0.7 pairs measurements with conditions in table order: sort by condition.
    return frame.sort_values(["simulationConditionId", "time", "observableId"], kind="stable").reset_index(drop=True)


def _parameters(data: tuple[CalibrationDatum, ...], control_values: dict[str, float]) -> pd.DataFrame:
    rows = []
    for p in fitted_parameters():
        scale = parameter_scale(p)
        lo, hi = p.range
        bounds = (math.log10(lo), math.log10(hi)) if scale == "log10" else (lo, hi)
        rows.append({"parameterId": p.name, "parameterName": p.description[:80], "parameterScale": scale,
                     "lowerBound": lo, "upperBound": hi, "nominalValue": p.value, "estimate": 1,
                     "objectivePriorType": "parameterScaleUniform",
                     "objectivePriorParameters": f"{bounds[0]!r};{bounds[1]!r}"})
    for datum in data:
        if isinstance(datum.measure, Ratio):
            rows.append({"parameterId": scale_id(datum), "parameterName": f"scaling factor of {datum.id}",
                         "parameterScale": "log10", "lowerBound": 1e-12, "upperBound": 1e12,
                         "nominalValue": control_values[datum.id], "estimate": 1,
                         "objectivePriorType": "", "objectivePriorParameters": ""})
    return pd.DataFrame(rows)


def _control_values(data: tuple[CalibrationDatum, ...]) -> dict[str, float]:
    """Nominal scaling factors: the control group's read-out under the nominal parameters."""
    from awaken.solvers.batch import run_typical

    days = sorted({d.measure.reference_day for d in data if isinstance(d.measure, Ratio)})
    [results] = run_typical(calibration_experiments(), [{}], days=max(days) + 1, output_days=days)
    return {d.id: results[d.measure.control].at(d.measure.reference_day, d.measure.readout)
            for d in data if isinstance(d.measure, Ratio)}


def petab_tables() -> dict[str, pd.DataFrame]:
    """The four PEtab tables of the mouse calibration."""
    data = calibration_data()
    return {"conditions": _conditions(), "observables": _observables(data),
            "measurements": _measurements(data), "parameters": _parameters(data, _control_values(data))}


def write_petab(directory: str | Path) -> Path:
    """Write the PEtab problem's files into ``directory`` (created if needed) and return the path of
    ``problem.yaml``. The SBML model is checked by libsbml and the problem by PEtab's linter; a
    failure raises :class:`PetabExportError`. Placing the directory whole, and never over someone
    else's files, is the runs layer's job (:func:`awaken.api.export.export_petab`)."""
    import petab.v1 as petab

    directory = Path(directory)
    document = parametric_document(VIRUS)
    n_errors, _, messages = consistency_report(document)
    if n_errors:
        raise PetabExportError("libsbml found errors in the model: " + "; ".join(messages[:3]))
    tables = petab_tables()
    directory.mkdir(parents=True, exist_ok=True)
    if not libsbml.writeSBMLToFile(document, str(directory / "model.xml")):
        raise PetabExportError("libsbml could not write model.xml")
    for name, frame in tables.items():
        index = {"conditions": "conditionId", "observables": "observableId", "parameters": "parameterId"}.get(name)
        out = frame.set_index(index) if index else frame
        out.to_csv(directory / f"{name}.tsv", sep="\t", index=index is not None)
    problem = {"format_version": 1, "parameter_file": "parameters.tsv",
               "problems": [{"sbml_files": ["model.xml"], "condition_files": ["conditions.tsv"],
                             "measurement_files": ["measurements.tsv"], "observable_files": ["observables.tsv"]}]}
    (directory / "problem.yaml").write_text(yaml.safe_dump(problem, sort_keys=False), encoding="utf-8")
    loaded = petab.Problem.from_yaml(str(directory / "problem.yaml"))
    lint_logger = logging.getLogger("petab.v1.lint")
    level = lint_logger.level
    lint_logger.setLevel(logging.ERROR)  # "Visualization table not available" is not news
    try:
        failed = petab.lint_problem(loaded)
    finally:
        lint_logger.setLevel(level)
    if failed:
        raise PetabExportError("the generated PEtab problem does not pass petab's linter (see the log above)")
    return directory / "problem.yaml"
