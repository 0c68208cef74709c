"""Counter-based random numbers: every draw is a pure function of (seed, person, stream, index).

A cohort must come out identical whatever the number of workers and blocks, and the same person
must meet the same chances in every scenario (common random numbers), so draws cannot come from
a sequential generator shared by a block. Instead each uniform is a hash of its coordinates:
``seed`` (the run), ``person`` (the person's id), ``stream`` (what the draw is for: age, the
third candidate infection of the 2021 Delta wave, ...) and ``index``. The hash is the SplitMix64
finaliser (Steele, Lea & Flood 2014, OOPSLA; the output function of Java's SplittableRandom)
applied twice over the combined key (:mod:`awaken.counters`), which passes the statistical tests its authors report for
counter inputs; :mod:`tests.test_cohort` checks moments and independence of neighbouring keys. The
hash lives in :mod:`awaken.counters`, shared with the tissue's draws.

Example
-------
>>> import numpy as np
>>> from awaken.cohort.draws import uniforms
>>> u = uniforms(7, np.arange(3), stream=1)
>>> bool(((u > 0) & (u < 1)).all()) and uniforms(7, np.arange(3), stream=1).tolist() == u.tolist()
True
"""

from __future__ import annotations

import numba
import numpy as np

from awaken.counters import keyed_uniform

__all__ = ["uniform", "uniforms", "normals", "exponentials", "poisson_counts"]

# the cohort's multipliers of (stream, index) in the shared hash (awaken.counters)
_STREAM = np.uint64(0xD1B54A32D192ED03)
_INDEX = np.uint64(0x8CB92BA72F3D8DD7)


@numba.njit(cache=True, inline="always")
def uniform(seed, person, stream, index):
    """One uniform draw in (0, 1) for the given coordinates (all non-negative integers)."""
    return keyed_uniform(seed, person, stream, _STREAM, index, _INDEX)


@numba.njit(cache=True)
def _uniforms(seed, persons, stream, index):
    out = np.empty(persons.size)
    for i in range(persons.size):
        out[i] = uniform(seed, persons[i], stream, index)
    return out


def uniforms(seed: int, persons: np.ndarray, stream: int, index: int = 0) -> np.ndarray:
    """Uniform draws in (0, 1), one per person id in ``persons``."""
    return _uniforms(np.uint64(seed), np.ascontiguousarray(persons, dtype=np.int64), np.int64(stream),
                     np.int64(index))


@numba.njit(cache=True)
def _keyed_uniforms(seed, persons, streams, indices):
    out = np.empty(persons.size)
    for i in range(persons.size):
        out[i] = uniform(seed, persons[i], streams[i], indices[i])
    return out


def keyed_uniforms(seed: int, persons: np.ndarray, streams: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Uniform draws in (0, 1), draw ``i`` at coordinates ``(persons[i], streams[i], indices[i])``: the
    same numbers as :func:`uniforms` at those coordinates, for draws that each have their own."""
    n = np.asarray(persons).size
    return _keyed_uniforms(np.uint64(seed), np.ascontiguousarray(persons, dtype=np.int64),
                           np.ascontiguousarray(np.broadcast_to(streams, (n,)), dtype=np.int64),
                           np.ascontiguousarray(np.broadcast_to(indices, (n,)), dtype=np.int64))


def normals(seed: int, persons: np.ndarray, stream: int, index: int = 0) -> np.ndarray:
    """Standard normal draws (inverse CDF of :func:`uniforms`)."""
    from scipy.special import ndtri

    return ndtri(uniforms(seed, persons, stream, index))


def exponentials(seed: int, persons: np.ndarray, stream: int, index: int = 0) -> np.ndarray:
    """Unit-rate exponential draws."""
    return -np.log(uniforms(seed, persons, stream, index))


def poisson_counts(u: np.ndarray, mean: np.ndarray, cap: int) -> np.ndarray:
    """Poisson counts by inversion of the uniforms ``u`` (one draw per count), capped at ``cap``."""
    term = np.exp(-np.asarray(mean, float))
    cdf = term.copy()
    count = np.zeros(np.shape(u), dtype=np.int64)
    for k in range(1, cap + 1):
        count += u > cdf
        term = term * mean / k
        cdf = cdf + term
    return count
