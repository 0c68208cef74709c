"""COMBINE archives re-run outside awaken: the SED-ML is read with libsedml and executed by libRoadRunner."""

from __future__ import annotations

import numpy as np
import pytest

libcombine = pytest.importorskip("libcombine")
libsedml = pytest.importorskip("libsedml")
roadrunner = pytest.importorskip("roadrunner")

from awaken.experiments.catalogue import load_experiment, with_overrides  # noqa: E402
from awaken.export.omex import write_omex  # noqa: E402
from awaken.export.sbml import READOUT_PREFIX  # noqa: E402
from awaken.lung.parameters import load_parameter_table  # noqa: E402
from awaken.solvers.reference import simulate  # noqa: E402
from awaken.solvers.schedule import animal_setup  # noqa: E402

DAYS = 40


def _run_archive(path, workdir):
    """A minimal SED-ML executor: what a COMBINE-aware tool does with the archive."""
    archive = libcombine.CombineArchive()
    assert archive.initializeFromArchive(str(path))
    locations = {archive.getEntry(i).getLocation() for i in range(archive.getNumEntries())}
    assert {"./model.xml", "./simulation.sedml", "./scenario.yaml"} <= locations
    assert archive.getMasterFile().getLocation() == "./simulation.sedml"
    for location in ("model.xml", "simulation.sedml"):
        assert archive.extractEntry(location, str(workdir))
    sedml = libsedml.readSedMLFromFile(str(workdir / "simulation.sedml"))
    assert sedml.getErrorLog().getNumFailsWithSeverity(libsedml.LIBSEDML_SEV_ERROR) == 0
    simulation = sedml.getSimulation(0)
    assert simulation.getAlgorithm().getKisaoID() == "KISAO:0000019"
    runner = roadrunner.RoadRunner(str(workdir / sedml.getModel(0).getSource()))
    runner.integrator.relative_tolerance = float(simulation.getAlgorithm().getAlgorithmParameter(0).getValue())
    runner.integrator.absolute_tolerance = 1e-10
    targets = {}
    for i in range(sedml.getNumDataGenerators()):
        variable = sedml.getDataGenerator(i).getVariable(0)
        targets[variable.getId()] = variable
    selections = ["time", *(k for k in targets if k.startswith(READOUT_PREFIX))]
    result = runner.simulate(simulation.getOutputStartTime(), simulation.getOutputEndTime(),
                             simulation.getNumberOfSteps() + 1, selections=selections)
    return {name: np.asarray(result[:, i]) for i, name in enumerate(selections)}


@pytest.mark.parametrize("name", ["influenza", "anti_cd4_influenza", "il6_ko_influenza"])
def test_an_archive_reruns_the_experiment_outside_awaken(name, tmp_path):
    [path] = write_omex(tmp_path, [name], days=DAYS)
    out = _run_archive(path, tmp_path)
    scenario = with_overrides(load_experiment(name), days=DAYS)
    params, controls, events = animal_setup(scenario, load_parameter_table().nominal(scenario.virus_kind))
    reference = simulate(params, controls, events, DAYS)
    np.testing.assert_allclose(out["time"], reference.days)
    for readout, values in reference.readouts.items():
        theirs = out[READOUT_PREFIX + readout]
        big = np.abs(values) > 1e-6 * np.abs(values).max()
        np.testing.assert_allclose(theirs[big], values[big], rtol=1e-3, err_msg=readout)


def test_archives_are_not_overwritten_silently(tmp_path):
    write_omex(tmp_path, ["pbs"], days=DAYS)
    with pytest.raises(FileExistsError):
        write_omex(tmp_path, ["pbs"], days=DAYS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pbs.omex"]
