"""The exact partial likelihood of the Cox model (R's ``coxph(ties = "exact")``) on ``(start, stop]`` data.

At an event time ``t`` of a stratum with ``d`` deaths ``D(t)`` among the rows at risk ``R(t)`` (a row is at
risk when ``start < t <= stop``) the exact ("discrete logistic", conditional-logistic) likelihood term is

    l_t(beta) = sum_{i in D(t)} eta_i - log B_d,    B_d = sum_{S subset of R(t), |S| = d} exp(sum_{i in S} eta_i),

with ``eta = x beta + offset`` (Kalbfleisch & Prentice 2002, sec. 4.2.3; Cox 1972). ``B_d`` is the elementary
symmetric polynomial of degree ``d`` in the risks ``r_i = exp(eta_i)``. Adding the rows one at a time,

    B_k(m) = B_k(m-1) + r_m B_{k-1}(m-1),    B_0 = 1,

(Gail, Lubin & Rubinstein 1981; Therneau's ``coxexact.c`` in R ``survival``), and since ``dr_m/dbeta = r_m x_m``
its first and second derivatives follow the same recursion:

    B'_k(m)  = B'_k(m-1)  + r_m (B'_{k-1} + x_m B_{k-1})(m-1),
    B''_k(m) = B''_k(m-1) + r_m (B''_{k-1} + x_m B'_{k-1}^T + B'_{k-1} x_m^T + x_m x_m^T B_{k-1})(m-1).

The score term is ``sum_{D(t)} x_i - B'_d / B_d`` and the information term ``B''_d / B_d - (B'_d / B_d)(B'_d / B_d)^T``:
the mean and the covariance of ``x_S = sum_{i in S} x_i`` when the d-subset ``S`` is drawn with probability
proportional to ``exp(eta_S)``. With no tied deaths (``d = 1``) this is Breslow's likelihood.

Adding rows only - never removing one - is what keeps the recursion exact: every ``B_k`` is a sum of positive
terms, so its relative rounding error grows at most by one unit per row added. Risk sets of ``(start, stop]`` data
are not nested, so instead of rebuilding ``B`` at every event time (O(|R(t)| d p^2) per time) the rows are
placed on a segment tree over the event times of each stratum: a row at risk at event times ``[lo, hi)`` is added
at the O(log T) tree nodes that tile that range, and a depth-first walk carries the state ``B_0..B_K`` (``K`` the
most deaths at any event time below the node) from each node to its children, so every leaf - event time - sees
exactly the rows at risk then. The cost is O(n log T K p^2) per sweep instead of O(sum_t |R(t)| d_t p^2) (for
right-censored data each row's range starts at the first event time), the memory O(log T K p^2).

No overflow or underflow, however many deaths tie and however large a coefficient grows: ``B_d`` can be as large
as ``C(|R|, d)`` (2e600 for 1000 deaths among 2000) or, when a coefficient runs off to infinity, far below the
smallest double. Each level ``k`` is therefore stored as a mantissa with its own integer power-of-two exponent
(``B_k = b_k 2^{E_k}``, the derivatives sharing the exponent), the mantissa renormalised into ``[2^-64, 2^64]``
whenever it leaves it; the risks are ``exp(eta - max eta)`` within the stratum, and a risk below ``e^-40`` is
split as ``a 2^e`` too (one below ``e^-1e12`` counts as 0). Rescaling by powers of two is exact, so the result
is what the plain recursion gives with unbounded exponents (terms below 2^-700 of a sum are dropped). The
covariates are centred within each stratum (``l_t`` and its derivatives do not change when every ``eta`` of a
stratum moves by the same amount), so that ``B''/B - (B'/B)^2`` cancels less; as a coefficient runs off to
infinity the information tends to 0 and keeps an absolute accuracy only (about 1e-16 times the squared mean of
``x_S``), as in R. Arithmetic follows NumPy's rules (``error_model='numpy'``): no exception is raised, a death
that is not at risk gives a log likelihood of ``-inf``.

R refuses case weights with the exact method, and so does this module (there are none to pass). The kernels are
compiled by numba and cached on disk next to this module.

References: Kalbfleisch JD, Prentice RL. The Statistical Analysis of Failure Time Data, 2nd ed., 2002, sec. 4.2.3.
Gail MH, Lubin JH, Rubinstein LV. Likelihood calculations for matched case-control studies and survival studies
with tied death times. Biometrika 1981; 68: 703-707. Therneau TM. survival: ``coxexact.c``, ``agexact.c``.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_TOP = 2.0**64  # level mantissas are kept within [1/_TOP, _TOP]
_SPLIT = -40.0  # risks below exp(_SPLIT) relative to the stratum's largest are carried as a 2^e
_NOTHING = -1e12  # risks below exp(_NOTHING) count as 0 (so that exponents stay far from int64 overflow)
_REBASE = 300  # an incoming term this many binades above a level moves the level's exponent up
_NEGLIGIBLE = -900  # an incoming term this many binades below a level cannot change it
_NEW_LEVEL = np.iinfo(np.int64).min  # the exponent marking a level no row has reached yet
_LN2 = math.log(2.0)
_LN2_HI = 0.693147180369123816490  # Cody & Waite: e * _LN2_HI is exact for |e| < 2^20
_LN2_LO = 1.90821492927058770002e-10


@numba.njit(cache=True, inline="always")
def _pow2(j, table):
    """2^j for integer j, from ``table`` (2^-1022 .. 2^1023); 0 below it."""
    if j < -1022:
        return 0.0
    if j > 1023:
        return np.inf
    return table[j + 1022]


@numba.njit(cache=True, inline="always")
def _scale_level(state, slot, k, width, factor):
    for w in range(width):
        state[slot, k, w] *= factor


@numba.njit(cache=True, error_model="numpy")
def _add_row(state, exponent, slot, top, x, row, a, e, p, table):
    """Add one row (risk ``a 2^e``, covariates ``x[row]``) to levels ``1..top`` of ``state[slot]``.

    ``top`` is at most one more than the rows already added; a level no row has reached (its exponent is
    ``_NEW_LEVEL``) is set rather than added to, so stale values in the slot do not matter. Levels go from the
    top down so that each reads the level below as it was before this row.
    """
    width = state.shape[2]
    for k in range(top, 0, -1):
        b_prev = state[slot, k - 1, 0]
        incoming = exponent[slot, k - 1] + e
        if k == top and exponent[slot, k] == _NEW_LEVEL:
            factor = a
            exponent[slot, k] = incoming
            for w in range(width):
                state[slot, k, w] = 0.0
        else:
            diff = incoming - exponent[slot, k]
            if diff > _REBASE:
                _scale_level(state, slot, k, width, _pow2(-diff, table))
                exponent[slot, k] = incoming
                factor = a
            elif diff < _NEGLIGIBLE:
                continue
            else:
                factor = a * _pow2(diff, table)
        state[slot, k, 0] += factor * b_prev
        w = p + 1
        for j in range(p):
            xj = x[row, j]
            g_prev_j = state[slot, k - 1, 1 + j]
            state[slot, k, 1 + j] += factor * (g_prev_j + xj * b_prev)
            for m in range(j + 1):
                xm = x[row, m]
                state[slot, k, w] += factor * (
                    state[slot, k - 1, w] + xj * state[slot, k - 1, 1 + m] + xm * g_prev_j + xj * xm * b_prev
                )
                w += 1
        b = state[slot, k, 0]
        if (b > _TOP and b < np.inf) or (b > 0.0 and b < 1.0 / _TOP):
            shift = math.frexp(b)[1]
            _scale_level(state, slot, k, width, _pow2(-shift, table))
            exponent[slot, k] += shift


@numba.njit(cache=True, error_model="numpy")
def _exact_sweep(beta, x, offset, stratum, event, n_strata, node_start, node_rows, node_deaths, leaf_deaths,
                 size, levels, table):
    """Log partial likelihood, score and information at ``beta`` (exact ties).

    The segment tree is a heap over ``size`` leaves (node ``v`` has children ``2v`` and ``2v + 1``, leaf ``j`` is
    node ``size + j``): the rows added at node ``v`` are ``node_rows[node_start[v]:node_start[v + 1]]``, the most
    deaths at any leaf below it ``node_deaths[v]`` (0 for a padding leaf, whose subtree is skipped), the deaths at
    leaf ``j`` ``leaf_deaths[j]``. ``levels`` is the most deaths at any leaf; ``table`` holds 2^-1022 .. 2^1023.
    """
    n, p = x.shape
    width = 1 + p + p * (p + 1) // 2

    # linear predictors, shifted by their maximum within the stratum, as risks a 2^e
    eta = np.empty(n)
    for i in range(n):
        value = offset[i]
        for j in range(p):
            value += x[i, j] * beta[j]
        eta[i] = value
    shift = np.full(n_strata, -np.inf)
    for i in range(n):
        shift[stratum[i]] = max(shift[stratum[i]], eta[i])
    for s in range(n_strata):
        if not np.isfinite(shift[s]):
            shift[s] = 0.0
    risk = np.empty(n)
    risk_exp = np.zeros(n, np.int64)
    loglik = 0.0
    score = np.zeros(p)
    info = np.zeros((p, p))
    for i in range(n):
        z = eta[i] - shift[stratum[i]]
        if z >= _SPLIT or not (z > -np.inf):  # ordinary, -inf (risk 0) or nan
            risk[i] = np.exp(z)
        elif z < _NOTHING:
            risk[i] = 0.0
        else:
            e = int(np.floor(z / _LN2))
            risk[i] = np.exp((z - e * _LN2_HI) - e * _LN2_LO)
            risk_exp[i] = e
        if event[i]:
            loglik += z
            for j in range(p):
                score[j] += x[i, j]

    # depth-first walk of the segment tree; a node at depth l works in slot l + 1, slot 0 is the empty set
    depth = 0
    while (1 << depth) < size:
        depth += 1
    n_slots = depth + 2
    state = np.zeros((n_slots, levels + 1, width))
    exponent = np.zeros((n_slots, levels + 1), np.int64)
    count = np.zeros(n_slots, np.int64)  # rows added along the path to the node
    state[0, 0, 0] = 1.0
    current = np.zeros(n_slots, np.int64)  # the slot holding the state at each depth of the path
    stack_node = np.empty(2 * n_slots + 2, np.int64)
    stack_depth = np.empty(2 * n_slots + 2, np.int64)
    top_of_stack = 0
    if node_deaths[1] > 0:
        stack_node[0] = 1
        stack_depth[0] = 0
        top_of_stack = 1
    mean = np.empty(p)
    while top_of_stack > 0:
        top_of_stack -= 1
        node = stack_node[top_of_stack]
        level = stack_depth[top_of_stack]
        deaths_below = node_deaths[node]
        parent = current[level]
        if node_start[node + 1] > node_start[node]:
            slot = level + 1
            filled = min(deaths_below, count[parent])
            for k in range(filled + 1):
                exponent[slot, k] = exponent[parent, k]
                for w in range(width):
                    state[slot, k, w] = state[parent, k, w]
            for k in range(filled + 1, deaths_below + 1):
                exponent[slot, k] = _NEW_LEVEL
            count[slot] = count[parent]
            for position in range(node_start[node], node_start[node + 1]):
                row = node_rows[position]
                if risk[row] == 0.0:
                    continue  # exp(-inf): in no subset with positive weight
                top = min(deaths_below, count[slot] + 1)
                _add_row(state, exponent, slot, top, x, row, risk[row], risk_exp[row], p, table)
                count[slot] += 1
            current[level + 1] = slot
        else:
            current[level + 1] = parent
        if node >= size:  # a leaf: one event time of one stratum
            slot = current[level + 1]
            d = leaf_deaths[node - size]
            if count[slot] < d:
                loglik = -np.inf  # a death not at risk
                continue
            b = state[slot, d, 0]
            loglik -= np.log(b) + exponent[slot, d] * _LN2
            w = p + 1
            for j in range(p):
                mean[j] = state[slot, d, 1 + j] / b
                score[j] -= mean[j]
                for m in range(j + 1):
                    info[j, m] += state[slot, d, w] / b - mean[j] * mean[m]
                    w += 1
        else:
            for child in (2 * node + 1, 2 * node):
                if node_deaths[child] > 0:
                    stack_node[top_of_stack] = child
                    stack_depth[top_of_stack] = level + 1
                    top_of_stack += 1
    for j in range(p):
        for m in range(j):
            info[m, j] = info[j, m]
    return loglik, score, info


@numba.njit(cache=True)
def _ranges(stratum, start, stop, first, leaf_time):
    """Each row's event times at risk as leaf indices ``[lo, hi)``: ``start < t <= stop`` within its stratum."""
    n = stratum.shape[0]
    lo = np.empty(n, np.int64)
    hi = np.empty(n, np.int64)
    for i in range(n):
        s = stratum[i]
        times = leaf_time[first[s]:first[s + 1]]
        lo[i] = first[s] + np.searchsorted(times, start[i], side="right")
        hi[i] = first[s] + np.searchsorted(times, stop[i], side="right")
    return lo, hi


@numba.njit(cache=True)
def _tile(lo, hi, size):
    """Rows per segment-tree node: row ``i`` goes to the nodes tiling leaves ``[lo[i], hi[i])`` (CSR layout)."""
    n = lo.shape[0]
    counts = np.zeros(2 * size + 1, np.int64)
    for i in range(n):
        left = lo[i] + size
        right = hi[i] + size
        while left < right:
            if left & 1:
                counts[left + 1] += 1
                left += 1
            if right & 1:
                right -= 1
                counts[right + 1] += 1
            left >>= 1
            right >>= 1
    start = np.cumsum(counts)
    fill = start[:-1].copy()
    rows = np.empty(start[-1], np.int64)
    for i in range(n):
        left = lo[i] + size
        right = hi[i] + size
        while left < right:
            if left & 1:
                rows[fill[left]] = i
                fill[left] += 1
                left += 1
            if right & 1:
                right -= 1
                rows[fill[right]] = i
                fill[right] += 1
            left >>= 1
            right >>= 1
    return start, rows


class ExactRiskSets:
    """Counting-process data arranged once for repeated sweeps of the exact partial likelihood.

    ``x`` is the (n, p) covariate matrix; ``start``, ``stop``, ``event`` (0/1) and ``stratum`` (integer codes
    0..k-1) are 1-D arrays of length n; ``offset`` (optional) is added to every linear predictor. A row is at
    risk at ``t`` when ``start < t <= stop``; right-censored data come with ``start`` below every time.
    """

    def __init__(self, x, start, stop, event, stratum, offset=None):
        x = np.asarray(x, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        self.n, self.p = x.shape
        self.offset = np.zeros(self.n) if offset is None else np.ascontiguousarray(offset, dtype=float)
        start = np.ascontiguousarray(start, dtype=float)
        stop = np.ascontiguousarray(stop, dtype=float)
        self.event = np.ascontiguousarray(event, dtype=np.bool_)
        self.stratum = np.ascontiguousarray(stratum, dtype=np.int64)
        self.n_strata = int(self.stratum.max()) + 1 if self.n else 0
        # centred within each stratum (the likelihood is unchanged; B''/B - (B'/B)^2 cancels less)
        counts = np.bincount(self.stratum, minlength=self.n_strata).astype(float)
        means = np.zeros((self.n_strata, self.p))
        for j in range(self.p):
            means[:, j] = np.bincount(self.stratum, weights=x[:, j], minlength=self.n_strata) / np.maximum(counts, 1)
        self.x = np.ascontiguousarray(x - means[self.stratum])

        # the leaves: event times by stratum, then time
        dead_stratum = self.stratum[self.event]
        dead_time = stop[self.event]
        order = np.lexsort((dead_time, dead_stratum))
        dead_stratum = dead_stratum[order]
        dead_time = dead_time[order]
        new = np.ones(len(order), dtype=bool)  # compared with != so that 0.0 and -0.0 are one time
        new[1:] = (dead_stratum[1:] != dead_stratum[:-1]) | (dead_time[1:] != dead_time[:-1])
        leaf_first = np.flatnonzero(new)
        deaths = np.diff(np.append(leaf_first, len(order)))
        leaf_stratum = dead_stratum[leaf_first]
        leaf_time = dead_time[leaf_first]
        first = np.searchsorted(leaf_stratum, np.arange(self.n_strata + 1))
        # each row's range of event times at risk, [lo, hi): start < t <= stop within its stratum
        lo, hi = _ranges(self.stratum, start, stop, first, leaf_time)
        n_leaves = len(leaf_time)
        self.size = 1
        while self.size < n_leaves:
            self.size *= 2
        self.leaf_deaths = np.zeros(self.size, np.int64)
        self.leaf_deaths[:n_leaves] = deaths
        node_deaths = np.zeros(2 * self.size, np.int64)
        node_deaths[self.size:] = self.leaf_deaths
        half = self.size // 2
        while half >= 1:  # a node's most deaths at any event time below it
            children = node_deaths[2 * half:4 * half]
            node_deaths[half:2 * half] = np.maximum(children[0::2], children[1::2])
            half //= 2
        self.node_deaths = node_deaths
        self.levels = int(deaths.max()) if n_leaves else 0
        self.node_start, self.node_rows = _tile(lo, hi, self.size)
        self.table = np.ldexp(1.0, np.arange(-1022, 1024))

    def sweep(self, beta) -> tuple[float, np.ndarray, np.ndarray]:
        """Log partial likelihood (exact ties), score (p,) and information (p, p) at ``beta``."""
        return _exact_sweep(
            np.ascontiguousarray(beta, dtype=float), self.x, self.offset, self.stratum, self.event, self.n_strata,
            self.node_start, self.node_rows, self.node_deaths, self.leaf_deaths, self.size, self.levels, self.table,
        )


def exact_sweep(beta, x, offset, start, stop, event, stratum) -> tuple[float, np.ndarray, np.ndarray]:
    """log partial likelihood (exact ties), score (p,), information (p, p) at beta."""
    return ExactRiskSets(x, start, stop, event, stratum, offset).sweep(beta)
