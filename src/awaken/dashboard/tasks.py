"""The dashboard's units of work, as plain functions a Dask worker can import without the web app.

Each takes a scenario as JSON (checked again where it runs), calls the Python API
(:mod:`awaken.api`) and returns plain tables and records, small enough to send back. ``progress``
is the API's progress factory: given when the work runs in the dashboard's own process (inline),
absent on a Dask worker (the page then counts finished tasks).
"""

from __future__ import annotations

from typing import Any

from awaken.api.experiments import run_experiment, score_targets
from awaken.api.population import simulate_population
from awaken.api.settings import SCHEMAS

__all__ = ["lung_task", "population_task", "LUNG_READOUTS"]

#: The read-outs the lung page draws (units: ``awaken.lung.equations.READOUTS``; docs/model.md).
LUNG_READOUTS = ("dcc_count", "mesenchymal_fraction", "hybrid_fraction", "epithelial_fraction",
                 "proliferating_fraction", "il6_pg_per_ml", "virus_titer", "neutrophils", "cd4_t_cells",
                 "cd4_aggregate_t_cells", "cd8_t_cells_active")


def _experiment(experiment_json: str) -> Any:
    return SCHEMAS["experiment"].model_validate_json(experiment_json)


def lung_task(what: str, experiment_json: str, engine: str, progress: Any = False) -> Any:
    """``what="experiment"``: every mouse's read-outs; ``what="scorecard"``: the targets scored with the
    experiment's mechanisms and parameter overrides (four mice per group for 60 days, as ``awaken targets``)."""
    experiment = _experiment(experiment_json)
    if what == "experiment":
        result = run_experiment(experiment, engine=engine, progress=progress)
        return result.per_mouse[["mouse", "day", *LUNG_READOUTS]].copy()
    card = score_targets(seed=experiment.seed, engine=engine, mechanisms=experiment.mechanisms.model_dump(),
                         parameters=dict(experiment.parameters), progress=progress)
    return card.to_records()


def population_task(experiment_json: str, settings_json: str, envelope: bool, progress: Any = False) -> dict[str, Any]:
    """A virtual population (settings: the population schema as JSON) and its acceptance by the envelope."""
    settings = SCHEMAS["population"].model_validate_json(settings_json)
    population = simulate_population(_experiment(experiment_json), n=settings.n, seed=settings.seed,
                                     output_days=list(settings.output_days), days=settings.days, envelope=envelope,
                                     variability=settings.variability, rtol=settings.rtol, progress=progress)
    return {"readouts": population.readouts, "accepted": population.accepted, "candidates": population.candidates,
            "acceptance_rate": population.acceptance_rate}
