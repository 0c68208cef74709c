"""The counter-based hash every random draw in awaken comes from: a uniform as a pure function of its
coordinates.

Runs must come out identical whatever the number of threads, blocks or Dask workers, and the same
individual must meet the same chance for the same purpose in every scenario or arm, so draws cannot
come from a sequential generator. Each uniform is the SplitMix64 finaliser (Steele, Lea & Flood 2014,
OOPSLA; the output function of Java's SplittableRandom) applied twice: once over the run's seed and
two coordinates, each scaled by an odd multiplier of its own, then over that key and the unit (a
person, an agent). The cohort (:mod:`awaken.cohort.draws`: stream and index) and the tissue
(:mod:`awaken.tissue.random_numbers`: step and purpose) each fix their multipliers, so the two
families never coincide.

Example
-------
>>> import numpy as np
>>> u = keyed_uniform(7, 3, 10, np.uint64(0xD1B54A32D192ED03), 0, np.uint64(0x8CB92BA72F3D8DD7))
>>> 0.0 < u < 1.0
True
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["mix", "keyed_uniform"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@numba.njit(cache=True, inline="always")
def mix(z):
    """The SplitMix64 finaliser of a 64-bit unsigned integer."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True, inline="always")
def keyed_uniform(seed, unit, a, a_multiplier, b, b_multiplier):
    """One uniform in (0, 1) for ``(seed, unit, a, b)`` (non-negative integers); ``a`` and ``b`` are
    scaled by their family's odd multipliers."""
    key = mix(np.uint64(seed) * _GOLDEN + np.uint64(a) * a_multiplier + np.uint64(b) * b_multiplier)
    z = mix(key ^ (np.uint64(unit) * _GOLDEN + _GOLDEN))
    return ((z >> np.uint64(11)) + 0.5) * _TO_UNIT
