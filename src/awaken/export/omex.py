"""COMBINE archives (OMEX): one per virtual experiment, so the study re-runs outside awaken.

Each archive holds

* ``model.xml`` - the experiment's SBML L3V2 document (:func:`awaken.export.sbml.sbml_document`:
  typical animal, pre-equilibrated initial amounts, the schedule as events);
* ``simulation.sedml`` - SED-ML L1V4: a uniform time course from day 0 to the experiment's
  length with one point per day (CVODE, KISAO:0000019, relative tolerance 1e-8), a report of
  every read-out and the states, and a plot of the DCC count;
* ``scenario.yaml`` - the awaken scenario it came from;
* ``manifest.xml`` written by libcombine, with the master file flagged.

Every libsedml and libcombine call that returns a status is checked.

Example
-------
>>> document = sedml_document("influenza", days=28)
>>> document.getNumSimulations()
1
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import libcombine
import libsbml
import libsedml
import yaml

from awaken.experiments.catalogue import resolve_experiment, with_overrides
from awaken.experiments.protocol import Experiment
from awaken.export.sbml import READOUT_PREFIX, consistency_report, sbml_document
from awaken.lung import equations

__all__ = ["OmexExportError", "sedml_document", "write_omex", "KISAO_CVODE", "SEDML_RTOL"]

KISAO_CVODE = "KISAO:0000019"
#: Relative tolerance requested from the simulator (KISAO:0000209).
SEDML_RTOL = 1e-8
_SBML_FORMAT = "http://identifiers.org/combine.specifications/sbml.level-3.version-2"
_SEDML_FORMAT = "http://identifiers.org/combine.specifications/sed-ml"
_YAML_FORMAT = "http://purl.org/NET/mediatypes/application/x-yaml"


class OmexExportError(RuntimeError):
    """A libsedml or libcombine call failed."""


def _check(status: int, what: str) -> None:
    if status != libsedml.LIBSEDML_OPERATION_SUCCESS:
        raise OmexExportError(f"libsedml failed to {what} (status {status})")


def _created(obj: object, what: str) -> object:
    if obj is None:
        raise OmexExportError(f"libsedml failed to create {what}")
    return obj


def _data_generator(document: libsedml.SedDocument, variable_id: str, target: str | None, symbol: str | None,
                    name: str) -> str:
    generator = _created(document.createDataGenerator(), f"data generator {variable_id}")
    dg_id = f"dg_{variable_id}"
    _check(generator.setId(dg_id), f"set the id of {dg_id}")
    _check(generator.setName(name), f"name {dg_id}")
    variable = _created(generator.createVariable(), f"variable {variable_id}")
    _check(variable.setId(variable_id), f"set the id of variable {variable_id}")
    _check(variable.setTaskReference("task"), f"reference the task from {variable_id}")
    if symbol is not None:
        _check(variable.setSymbol(symbol), f"set the symbol of {variable_id}")
    else:
        _check(variable.setTarget(target), f"set the target of {variable_id}")
    _check(generator.setMath(libsedml.parseL3Formula(variable_id)), f"set the math of {dg_id}")
    return dg_id


def sedml_document(experiment: str | Experiment, days: int | None = None,
                   model_source: str = "model.xml") -> libsedml.SedDocument:
    """The SED-ML L1V4 description of one experiment's simulation (see the module docstring)."""
    scenario = resolve_experiment(experiment) if isinstance(experiment, str) else experiment
    days = int(days if days is not None else scenario.days)
    document = libsedml.SedDocument(1, 4)
    model = _created(document.createModel(), "the model")
    _check(model.setId("model"), "set the model id")
    _check(model.setLanguage("urn:sedml:language:sbml.level-3.version-2"), "set the model language")
    _check(model.setSource(model_source), "set the model source")

    simulation = _created(document.createUniformTimeCourse(), "the time course")
    _check(simulation.setId("time_course"), "set the simulation id")
    _check(simulation.setInitialTime(0.0), "set the initial time")
    _check(simulation.setOutputStartTime(0.0), "set the output start time")
    _check(simulation.setOutputEndTime(float(days)), "set the output end time")
    _check(simulation.setNumberOfSteps(days), "set the number of steps")
    algorithm = _created(simulation.createAlgorithm(), "the algorithm")
    _check(algorithm.setKisaoID(KISAO_CVODE), "set the KiSAO id")
    parameter = _created(algorithm.createAlgorithmParameter(), "the tolerance")
    _check(parameter.setKisaoID("KISAO:0000209"), "set the tolerance's KiSAO id")
    _check(parameter.setValue(repr(SEDML_RTOL)), "set the relative tolerance")

    task = _created(document.createTask(), "the task")
    _check(task.setId("task"), "set the task id")
    _check(task.setModelReference("model"), "reference the model")
    _check(task.setSimulationReference("time_course"), "reference the simulation")

    time_dg = _data_generator(document, "time", None, "urn:sedml:symbol:time", "time [d]")
    columns = [(time_dg, "time")]
    for name, (unit, _) in equations.READOUTS.items():
        pid = READOUT_PREFIX + name
        columns.append((_data_generator(document, pid, f"/sbml:sbml/sbml:model/sbml:listOfParameters/"
                                        f"sbml:parameter[@id='{pid}']", None, f"{name} [{unit}]"), name))
    for state in equations.STATES:
        columns.append((_data_generator(document, state.name, f"/sbml:sbml/sbml:model/sbml:listOfSpecies/"
                                        f"sbml:species[@id='{state.name}']", None, f"{state.name} [{state.unit}]"),
                        state.name))

    report = _created(document.createReport(), "the report")
    _check(report.setId("readouts"), "set the report id")
    _check(report.setName(f"{scenario.name}: read-outs and states per day"), "name the report")
    for dg_id, label in columns:
        dataset = _created(report.createDataSet(), f"data set {label}")
        _check(dataset.setId(f"ds_{dg_id[3:]}"), f"set the id of data set {label}")
        _check(dataset.setLabel(label), f"label data set {label}")
        _check(dataset.setDataReference(dg_id), f"reference {dg_id}")

    plot = _created(document.createPlot2D(), "the plot")
    _check(plot.setId("dcc_plot"), "set the plot id")
    _check(plot.setName(f"{scenario.name}: HER2+ DCCs per three lung sections"), "name the plot")
    curve = _created(plot.createCurve(), "the curve")
    _check(curve.setId("dcc_curve"), "set the curve id")
    _check(curve.setXDataReference(time_dg), "set the curve's x")
    _check(curve.setYDataReference(f"dg_{READOUT_PREFIX}dcc_count"), "set the curve's y")
    _check(curve.setLogY(True), "set the curve's log y")
    _check(curve.setLogX(False), "set the curve's log x")
    return document


def write_omex(directory: str | Path, experiments: list[str | Experiment], days: int | None = None,
               overwrite: bool = False) -> list[Path]:
    """Write ``<experiment>.omex`` for each experiment into ``directory`` (each archive atomically).

    The SBML is checked by libsbml and the SED-ML by libsedml before an archive is written.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for experiment in experiments:
        scenario = resolve_experiment(experiment) if isinstance(experiment, str) else experiment
        if days is not None:
            scenario = with_overrides(scenario, days=days)
        target = directory / f"{scenario.name}.omex"
        if target.exists() and not overwrite:
            raise FileExistsError(f"{target} already exists; pass overwrite=True")
        sbml = sbml_document(scenario)
        n_errors, _, messages = consistency_report(sbml)
        if n_errors:
            raise OmexExportError(f"{scenario.name}: libsbml found errors: {'; '.join(messages[:3])}")
        sedml = sedml_document(scenario)
        if sedml.getErrorLog().getNumFailsWithSeverity(libsedml.LIBSEDML_SEV_ERROR):
            raise OmexExportError(f"{scenario.name}: libsedml found errors: {sedml.getErrorLog().toString()}")
        with tempfile.TemporaryDirectory(dir=directory) as work:
            work_path = Path(work)
            if not libsbml.writeSBMLToFile(sbml, str(work_path / "model.xml")):
                raise OmexExportError("libsbml could not write model.xml")
            if not libsedml.writeSedMLToFile(sedml, str(work_path / "simulation.sedml")):
                raise OmexExportError("libsedml could not write simulation.sedml")
            (work_path / "scenario.yaml").write_text(yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False))
            archive = libcombine.CombineArchive()
            for name, fmt, master in (("model.xml", _SBML_FORMAT, False), ("simulation.sedml", _SEDML_FORMAT, True),
                                      ("scenario.yaml", _YAML_FORMAT, False)):
                if not archive.addFile(str(work_path / name), f"./{name}", fmt, master):
                    raise OmexExportError(f"libcombine could not add {name}")
            tmp = work_path / f"{scenario.name}.omex"
            if not archive.writeToFile(str(tmp)):
                raise OmexExportError(f"libcombine could not write {target}")
            archive.cleanUp()
            os.replace(tmp, target)
        written.append(target)
    return written
