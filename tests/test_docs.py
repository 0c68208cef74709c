"""The documentation says what the code does."""

from __future__ import annotations

from pathlib import Path

from awaken.experiments.catalogue import list_experiments
from awaken.lung import equations
from awaken.lung.document import model_markdown
from awaken.lung.parameters import load_parameter_table

ROOT = Path(__file__).resolve().parents[1]


def test_model_doc_is_generated_from_the_current_model():
    committed = (ROOT / "docs" / "model.md").read_text()
    assert committed == model_markdown(), "regenerate: python -m awaken.lung.document > docs/model.md"


def test_model_doc_lists_every_state_reaction_and_parameter():
    text = (ROOT / "docs" / "model.md").read_text()
    for state in equations.STATE_NAMES:
        assert f"`{state}`" in text
    table = load_parameter_table("mouse")
    for kind in table.viruses:
        for p in table.parameters(kind):
            assert f"`{p.name}`" in text


def test_readme_quick_start_and_experiments():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    for name in list_experiments():
        assert f"`{name}`" in readme, name


def test_calibration_doc_names_every_tuned_parameter():
    text = (ROOT / "docs" / "calibration.md").read_text()
    table = load_parameter_table("mouse")
    for kind in table.viruses:
        for p in table.parameters(kind):
            if p.calibrated_to:
                assert f"`{p.name}`" in text, p.name


def test_the_api_guide_runs():
    """docs/api.md: every example of the Python API runs and prints what the page says."""
    import doctest
    import os

    cwd = os.getcwd()
    os.chdir(ROOT)  # the page's paths are relative to the checkout
    try:
        result = doctest.testfile(str(ROOT / "docs" / "api.md"), module_relative=False,
                                  optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    finally:
        os.chdir(cwd)
    assert result.failed == 0 and result.attempted > 40


def test_the_readme_experiment_file_is_the_shipped_example():
    """The README's experiment file is examples/my_experiment.yaml, not a copy that could drift."""
    import yaml

    from awaken.experiments.protocol import Experiment

    readme = (ROOT / "README.md").read_text()
    block = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    shipped = yaml.safe_load((ROOT / "examples" / "my_experiment.yaml").read_text())
    assert Experiment.model_validate(yaml.safe_load(block)) == Experiment.model_validate(shipped)


def test_the_architecture_page_names_every_package():
    text = (ROOT / "docs" / "architecture.md").read_text()
    package = ROOT / "src" / "awaken"
    names = [p.name for p in package.iterdir() if (p / "__init__.py").is_file()]
    names += [p.name for p in package.glob("*.py") if p.name != "__init__.py"]
    assert all(f"`{n}/`" in text or f"`{n}`" in text for n in names), [n for n in names if n not in text]
