"""Counter-based random numbers for the tissue: every draw is a pure function of its coordinates.

A section must come out identical whatever the number of threads or Dask workers, so no draw may
come from a generator whose state depends on the order in which agents are visited. Each uniform is
a hash of ``(seed, agent, step, purpose)``: the run's seed, the agent's identity (an epithelial
cell's index, an immune cell's or a DCC's ``uid``), the time step and what the draw is for
(:data:`PURPOSES`). The hash is the one every awaken draw comes from (:mod:`awaken.counters`: the
SplitMix64 finaliser, Steele, Lea & Flood 2014, OOPSLA), with the tissue's own multipliers, so its
draws never coincide with the cohort's.

Example
-------
>>> u = uniform(7, 3, 10, PURPOSES["death"])
>>> 0.0 < u < 1.0 and u == uniform(7, 3, 10, PURPOSES["death"])
True
"""

from __future__ import annotations

import numba
import numpy as np

from awaken.counters import keyed_uniform

__all__ = ["uniform", "poisson", "PURPOSES"]

# the tissue's multipliers of (step, purpose) in the shared hash (awaken.counters)
_STEP = np.uint64(0xC2B2AE3D27D4EB4F)
_PURPOSE = np.uint64(0x165667B19E3779F9)

#: What a draw is for: one stream per purpose, so adding a draw for one purpose never shifts another.
PURPOSES: dict[str, int] = {
    "death": 1, "transition": 2, "division": 3, "move_angle": 4, "daughter_angle": 5, "influx_count": 6,
    "influx_place": 7, "infection": 8, "eclipse_exit": 9, "infected_death": 10, "repair": 11, "placement": 12,
    "aggregation": 13, "killing": 14, "influx_place_2": 15, "daughter_distance": 16,
}


@numba.njit(cache=True, inline="always")
def uniform(seed, agent, step, purpose):
    """One uniform in (0, 1) for ``(seed, agent, step, purpose)`` (non-negative integers)."""
    return keyed_uniform(seed, agent, step, _STEP, purpose, _PURPOSE)


@numba.njit(cache=True)
def poisson(mean, seed, agent, step, purpose):
    """A Poisson count with ``mean``: inversion for small means, a rounded normal above 30."""
    if mean <= 0.0:
        return 0
    if mean > 30.0:
        u1 = uniform(seed, agent, step, purpose)
        u2 = uniform(seed, agent + (1 << 20), step, purpose)
        z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
        return max(0, int(np.floor(mean + np.sqrt(mean) * z + 0.5)))
    u = uniform(seed, agent, step, purpose)
    p = np.exp(-mean)
    cumulative = p
    k = 0
    while u > cumulative and k < 200:
        k += 1
        p *= mean / k
        cumulative += p
    return k
