"""libRoadRunner doing awaken's work for one individual: the protocol every benchmark against it uses.

awaken's SBML (``awaken.export.sbml.sbml_string(..., preequilibration=True)``) is loaded once per
process; each individual is then ``reset()`` (time and species back to their start), given its
parameters, controls and dose as current values, and its starting amounts (the species' initial
assignments follow the parameters; setting ``init()`` values instead makes libRoadRunner regenerate the
model, about 8 s an individual), and simulated at ``times``.
"""

from __future__ import annotations

import numpy as np


def simulate_individual(rr, species: list[str], params: dict[str, float], controls: dict[str, float], events,
                        times: list[float]) -> np.ndarray:
    """One individual's time course (``rr.simulate``'s result, the ``timeCourseSelections`` columns)."""
    from awaken.lung import equations

    values = {**params, **controls}
    for event in events:
        for state, amount in event.state_increments.items():
            values[f"dose_{state}"] = amount
    rr.reset()
    rr.setValues(list(values), list(values.values()))
    guess = equations.initial_guess(values)
    rr.model.setFloatingSpeciesAmounts(np.array([guess[s] for s in species]))
    return rr.simulate(times=times)
