"""Virtual experiments from Python: list them, run them on an engine, score them.

Example
-------
>>> import awaken
>>> result = awaken.run_experiment("influenza", days=20, seed=1, mice=2)
>>> bool(result.at(15, "dcc_count") > 10 * result.at(0, "dcc_count"))
True
"""

from __future__ import annotations

from pathlib import Path

from awaken.experiments.catalogue import list_experiments, resolve_experiment, with_overrides
from awaken.experiments.protocol import Experiment
from awaken.experiments.results import GroupResult
from awaken.solvers.reference import run_group

__all__ = ["list_experiments", "run_experiment"]


def run_experiment(experiment: str | Path | Experiment, days: int | None = None, seed: int | None = None,
                   mice: int | None = None) -> GroupResult:
    """Run a shipped experiment (by name), an experiment file (by path) or an :class:`Experiment`.

    ``days`` (1-3650), ``seed`` and ``mice`` (1-1000) override the experiment's settings.
    """
    return run_group(with_overrides(resolve_experiment(experiment), days=days, seed=seed, mice=mice))
