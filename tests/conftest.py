"""Shared fixtures: the study's virtual experiments, run once per test session."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from awaken.experiments.catalogue import list_experiments, load_experiment, with_overrides
from awaken.experiments.results import ExperimentResult
from awaken.scorecard import TargetScore, score
from awaken.solvers.reference import run_group
from awaken.targets import load_targets

#: Days simulated for the session's experiments: every target reads out at or before 28 dpi; 60 days
#: also covers the return to dormancy.
SESSION_DAYS = 60
SEED = 0
MICE = 4


@pytest.fixture(scope="session")
def study() -> dict[str, ExperimentResult]:
    """Every shipped experiment, default seed, four mice per group, 60 days."""
    return {name: run_group(with_overrides(load_experiment(name), days=SESSION_DAYS, seed=SEED, mice=MICE))
            for name in list_experiments()}


@pytest.fixture(scope="session")
def study_settings() -> dict[str, int]:
    """How the session's experiments were run (for tests that run them again another way)."""
    return {"days": SESSION_DAYS, "seed": SEED, "mice": MICE}


@pytest.fixture(scope="session")
def scores(study: dict[str, ExperimentResult]) -> dict[str, TargetScore]:
    return {s.id: s for s in score(study)}


@pytest.fixture(scope="session")
def small_reproduction(tmp_path_factory):
    """The flagship at a small size (2 mice, 40 days, seed 1, 20,000 survivors), run once per session."""
    from awaken.api.reproduce import reproduce

    out = tmp_path_factory.mktemp("runs") / "repro"
    return reproduce(out, mice=2, seed=1, days=40, command=["awaken", "reproduce", "--test"], survivors=20_000)


@pytest.fixture(scope="session")
def targets() -> dict[str, dict]:
    return {t["id"]: t for group in load_targets().values() for t in group}


@pytest.fixture(scope="session")
def rscript():
    """Run an R oracle script live: ``rscript(SCRIPT, *arguments)``.

    Skips when R is not installed; with ``AWAKEN_REQUIRE_R=1`` (CI installs R and sets it) a missing
    R fails instead, so the comparison with R cannot silently stop running."""
    if shutil.which("Rscript") is None:
        if os.environ.get("AWAKEN_REQUIRE_R"):
            pytest.fail("AWAKEN_REQUIRE_R is set but Rscript is not on the PATH")
        pytest.skip("R is not installed (CI installs it and compares live)")

    def run(script, *arguments) -> None:
        done = subprocess.run(["Rscript", str(script), *map(str, arguments)], capture_output=True, text=True)
        assert done.returncode == 0, f"{script} failed:\n{done.stderr[-3000:]}"

    return run
