"""Counter-based random numbers for the tissue: every draw is a pure function of its coordinates.

A section must come out identical whatever the number of threads or Dask workers, so no draw may
come from a generator whose state depends on the order in which agents are visited. Each uniform is
a hash of ``(seed, agent, step, purpose)``: the run's seed, the agent's identity (an epithelial
cell's index, an immune cell's or a DCC's ``uid``), the time step and what the draw is for
(:data:`PURPOSES`). The hash is the SplitMix64 finaliser (Steele, Lea & Flood 2014, OOPSLA), the
same construction as the cohort's draws (:mod:`awaken.cohort.draws`, which a lower layer may not
import; the constants differ so the two families never coincide).

Example
-------
>>> u = uniform(7, 3, 10, PURPOSES["death"])
>>> 0.0 < u < 1.0 and u == uniform(7, 3, 10, PURPOSES["death"])
True
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["uniform", "poisson", "PURPOSES"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_STEP = np.uint64(0xC2B2AE3D27D4EB4F)
_PURPOSE = np.uint64(0x165667B19E3779F9)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53

#: What a draw is for: one stream per purpose, so adding a draw for one purpose never shifts another.
PURPOSES: dict[str, int] = {
    "death": 1, "transition": 2, "division": 3, "move_angle": 4, "daughter_angle": 5, "influx_count": 6,
    "influx_place": 7, "infection": 8, "eclipse_exit": 9, "infected_death": 10, "repair": 11, "placement": 12,
    "aggregation": 13, "killing": 14, "influx_place_2": 15, "daughter_distance": 16,
}


@numba.njit(cache=True, inline="always")
def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True, inline="always")
def uniform(seed, agent, step, purpose):
    """One uniform in (0, 1) for ``(seed, agent, step, purpose)`` (non-negative integers)."""
    key = _mix(np.uint64(seed) * _GOLDEN + np.uint64(step) * _STEP + np.uint64(purpose) * _PURPOSE)
    z = _mix(key ^ (np.uint64(agent) * _GOLDEN + _GOLDEN))
    return ((z >> np.uint64(11)) + 0.5) * _TO_UNIT


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
