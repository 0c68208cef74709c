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
