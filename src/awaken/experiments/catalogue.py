"""The study's mouse experiments, shipped as experiment files, and finding an experiment by name or path.

The files in ``awaken/experiments/catalogue/`` are the study's groups (PBS, influenza, SARS-CoV-2,
IL-6 knockout, neutrophil depletion, antibody courses, wild-type hosts); each is an
:class:`~awaken.experiments.protocol.Experiment`.

Example
-------
>>> "influenza" in list_experiments()
True
>>> with_overrides(load_experiment("influenza"), days=30).days
30
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from awaken.errors import InputError
from awaken.experiments.protocol import Experiment
from awaken.schemas import load_model, validate

__all__ = ["list_experiments", "load_experiment", "resolve_experiment", "with_overrides"]


def _catalogue() -> Path:
    return Path(str(resources.files("awaken.experiments") / "catalogue"))


@lru_cache(maxsize=None)
def list_experiments() -> tuple[str, ...]:
    """Names of the shipped virtual experiments."""
    return tuple(sorted(p.stem for p in _catalogue().glob("*.yaml")))


def load_experiment(name: str) -> Experiment:
    """The shipped experiment called ``name``."""
    if name not in list_experiments():
        raise InputError.field("experiment", f"unknown experiment; choose one of: {', '.join(list_experiments())}",
                               name)
    experiment = load_model(_catalogue() / f"{name}.yaml", Experiment)
    if experiment.name != name:
        raise InputError(f"experiment file {name}.yaml declares name {experiment.name!r}")
    return experiment


def resolve_experiment(name_or_path: str | Path | Experiment, field: str = "experiment") -> Experiment:
    """An experiment object, a shipped experiment by name, or an experiment file by path (.yaml/.toml)."""
    if isinstance(name_or_path, Experiment):
        return name_or_path
    text = str(name_or_path)
    if text in list_experiments():
        return load_experiment(text)
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml", ".toml") or path.exists():
        return load_model(path, Experiment)
    raise InputError.field(field, f"unknown experiment; choose one of: {', '.join(list_experiments())}, or give an "
                                  f"experiment file (.yaml or .toml)", text)


def with_overrides(experiment: Experiment, *, days: int | None = None, seed: int | None = None,
                   mice: int | None = None, variability: bool | None = None) -> Experiment:
    """The experiment with run settings replaced, re-validated (so ranges are checked and named)."""
    data = experiment.model_dump(mode="python")
    for key, value in (("days", days), ("seed", seed), ("mice", mice), ("variability", variability)):
        if value is not None:
            data[key] = value
    return validate(data, Experiment)
