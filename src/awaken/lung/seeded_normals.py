"""NumPy's seeded normal draws, a batch of individuals at a time: the same numbers, compiled.

:func:`awaken.lung.parameters.draw_individuals` gives individual ``i`` its own generator,
``np.random.default_rng(np.random.SeedSequence([seed, i]))``, so that it depends only on
``(seed, i)``. Building that generator costs about 7 microseconds in Python and the per-parameter
draws another 140; a virtual population of 10^6 spends minutes on it. This module computes the same
stream without Python objects: the ``SeedSequence`` entropy hash (O'Neill's seed_seq_fe, as NumPy
implements it: pool of four 32-bit words), ``PCG64`` seeded from it (128-bit LCG, XSL-RR output) and
NumPy's ziggurat ``standard_normal`` (its tables are numba's copy of NumPy's, the same numbers), for
many individuals in parallel. Written here because no library exposes NumPy's generators without a
Python object per stream; the tests compare it draw for draw with NumPy (``tests/test_fast_solver.py``).

Example
-------
>>> import numpy as np
>>> z = seeded_normals(7, start=3, n=2, count=5)
>>> expected = np.random.default_rng(np.random.SeedSequence([7, 4])).standard_normal(5)
>>> bool((z[1] == expected).all())
True
"""

from __future__ import annotations

import numba
import numpy as np
from numba.np.random._constants import fi_double, ki_double, wi_double, ziggurat_nor_inv_r, ziggurat_nor_r

__all__ = ["seeded_normals"]

_U32 = np.uint64(0xFFFFFFFF)
_INIT_A = np.uint64(0x43B0D7E5)
_MULT_A = np.uint64(0x931E8875)
_INIT_B = np.uint64(0x8B51F9DD)
_MULT_B = np.uint64(0x58F38DED)
_MIX_L = np.uint64(0xCA01F9DD)
_MIX_R = np.uint64(0x4973F715)
_SHIFT16 = np.uint64(16)
_SHIFT32 = np.uint64(32)
_PCG_MULT_HI = np.uint64(0x2360ED051FC65DA4)
_PCG_MULT_LO = np.uint64(0x4385DF649FCCF645)
_ONE = np.uint64(1)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53, NumPy's next_double


@numba.njit(cache=True, inline="always")
def _hashmix(value, hash_const):
    """seed_seq_fe's hashmix on 32-bit words held in uint64; returns (value, new hash constant)."""
    value = (value ^ hash_const) & _U32
    hash_const = (hash_const * _MULT_A) & _U32
    value = (value * hash_const) & _U32
    return value ^ (value >> _SHIFT16), hash_const


@numba.njit(cache=True, inline="always")
def _mix(x, y):
    result = (_MIX_L * x - _MIX_R * y) & _U32
    return result ^ (result >> _SHIFT16)


@numba.njit(cache=True)
def _pcg_seed(entropy, length):
    """``SeedSequence(entropy).generate_state(4, uint64)`` (``entropy[:length]``, 32-bit words)."""
    pool = np.zeros(4, dtype=np.uint64)
    hash_const = _INIT_A
    for i in range(4):
        word = entropy[i] if i < length else np.uint64(0)
        pool[i], hash_const = _hashmix(word, hash_const)
    for source in range(4):
        for target in range(4):
            if source != target:
                hashed, hash_const = _hashmix(pool[source], hash_const)
                pool[target] = _mix(pool[target], hashed)
    for source in range(4, length):
        for target in range(4):
            hashed, hash_const = _hashmix(entropy[source], hash_const)
            pool[target] = _mix(pool[target], hashed)
    state = np.zeros(4, dtype=np.uint64)
    hash_const = _INIT_B
    for k in range(8):
        value = (pool[k % 4] ^ hash_const) & _U32
        hash_const = (hash_const * _MULT_B) & _U32
        value = (value * hash_const) & _U32
        value ^= value >> _SHIFT16
        if k % 2 == 0:
            state[k // 2] = value
        else:
            state[k // 2] |= value << _SHIFT32
    return state


@numba.njit(cache=True, inline="always")
def _mul_high(a, b):
    """The high 64 bits of the 128-bit product of two 64-bit words."""
    a_lo, a_hi, b_lo, b_hi = a & _U32, a >> _SHIFT32, b & _U32, b >> _SHIFT32
    lo_lo, hi_lo, lo_hi = a_lo * b_lo, a_hi * b_lo, a_lo * b_hi
    cross = (lo_lo >> _SHIFT32) + (hi_lo & _U32) + lo_hi
    return (hi_lo >> _SHIFT32) + (cross >> _SHIFT32) + a_hi * b_hi


@numba.njit(cache=True, inline="always")
def _pcg_step(hi, lo, inc_hi, inc_lo):
    """state * multiplier + increment, modulo 2^128."""
    new_hi = _mul_high(lo, _PCG_MULT_LO) + hi * _PCG_MULT_LO + lo * _PCG_MULT_HI
    new_lo = lo * _PCG_MULT_LO
    total_lo = new_lo + inc_lo
    carry = np.uint64(1) if total_lo < new_lo else np.uint64(0)
    return new_hi + inc_hi + carry, total_lo


@numba.njit(cache=True, inline="always")
def _next64(hi, lo, inc_hi, inc_lo):
    """PCG64's next 64-bit output (XSL-RR) and the new state (hi, lo)."""
    hi, lo = _pcg_step(hi, lo, inc_hi, inc_lo)
    value = hi ^ lo
    rotation = hi >> np.uint64(58)
    return (value >> rotation) | (value << ((np.uint64(64) - rotation) & np.uint64(63))), hi, lo


@numba.njit(cache=True, inline="always")
def _to_double(word):
    return np.float64(word >> np.uint64(11)) * _TO_UNIT


@numba.njit(cache=True)
def _standard_normal(hi, lo, inc_hi, inc_lo):
    """NumPy's ``random_standard_normal`` (ziggurat, 256 layers) from the PCG64 state (hi, lo);
    returns the draw and the new state."""
    while True:
        r, hi, lo = _next64(hi, lo, inc_hi, inc_lo)
        idx = np.int64(r & np.uint64(0xFF))
        r >>= np.uint64(8)
        sign = r & _ONE
        rabs = (r >> _ONE) & np.uint64(0x000FFFFFFFFFFFFF)
        x = np.float64(rabs) * wi_double[idx]
        if sign == _ONE:
            x = -x
        if rabs < ki_double[idx]:
            return x, hi, lo
        if idx == 0:
            while True:
                u, hi, lo = _next64(hi, lo, inc_hi, inc_lo)
                xx = -ziggurat_nor_inv_r * np.log1p(-_to_double(u))
                u, hi, lo = _next64(hi, lo, inc_hi, inc_lo)
                yy = -np.log1p(-_to_double(u))
                if yy + yy > xx * xx:
                    if (rabs >> np.uint64(8)) & _ONE:
                        return -(ziggurat_nor_r + xx), hi, lo
                    return ziggurat_nor_r + xx, hi, lo
        else:
            u, hi, lo = _next64(hi, lo, inc_hi, inc_lo)
            if (fi_double[idx - 1] - fi_double[idx]) * _to_double(u) + fi_double[idx] < np.exp(-0.5 * x * x):
                return x, hi, lo


@numba.njit(cache=True)
def _words(value, out, at):
    """``value`` as NumPy's SeedSequence reads an integer: 32-bit words, least significant first."""
    out[at] = value & _U32
    if value >> _SHIFT32:
        out[at + 1] = value >> _SHIFT32
        return at + 2
    return at + 1


@numba.njit(cache=True, parallel=True)
def _normals(seed, start, n, count, out):
    for k in numba.prange(n):
        entropy = np.zeros(4, dtype=np.uint64)
        length = _words(np.uint64(seed), entropy, 0)
        length = _words(np.uint64(start + k), entropy, length)
        seed_words = _pcg_seed(entropy, length)
        # PCG64's srandom: state 0, inc = 2 * initseq + 1, step, add the initial state, step.
        inc_hi = (seed_words[2] << _ONE) | (seed_words[3] >> np.uint64(63))
        inc_lo = (seed_words[3] << _ONE) | _ONE
        hi, lo = _pcg_step(np.uint64(0), np.uint64(0), inc_hi, inc_lo)
        low = lo + seed_words[1]
        hi = hi + seed_words[0] + (np.uint64(1) if low < lo else np.uint64(0))
        hi, lo = _pcg_step(hi, low, inc_hi, inc_lo)
        for j in range(count):
            out[k, j], hi, lo = _standard_normal(hi, lo, inc_hi, inc_lo)


def seeded_normals(seed: int, start: int, n: int, count: int) -> np.ndarray:
    """Row ``k``: the first ``count`` numbers of
    ``np.random.default_rng(np.random.SeedSequence([seed, start + k])).standard_normal(...)``."""
    if not (0 <= seed < 2**64 and 0 <= start and start + n <= 2**63 and n >= 0 and count >= 0):
        raise ValueError("seed must lie in [0, 2^64) and the individuals' indices in [0, 2^63)")
    out = np.empty((n, count))
    if n and count:
        _normals(np.uint64(seed), np.int64(start), np.int64(n), np.int64(count), out)
    return out
