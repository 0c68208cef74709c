"""Risk-set sweeps for the Cox partial likelihood on counting-process ``(start, stop]`` data.

One pass over each stratum, from the last event time backwards, keeps running sums over the
rows at risk: a row joins when the sweep reaches its ``stop`` and leaves when the sweep passes
its ``start`` (a row is at risk at ``t`` when ``start < t <= stop``). Sorting is done once by the
caller, so each Newton iteration costs O(N p^2) on top of an O(N log N) sort, the same scheme as
Therneau's ``agfit4`` in R ``survival``. Ties are handled as Efron (1977) or Breslow (1974), with
case weights entering as R does (Efron uses the mean weight of the tied deaths).

Risks are computed as ``w exp(eta - max eta)`` within each stratum - the partial likelihood does not
change when a stratum's linear predictors move together, and so no ``exp`` overflows however large a
coefficient grows (a monotone likelihood drives one to infinity); the shift is added back to the log
likelihood and the hazard increments. Arithmetic follows NumPy's rules (``error_model='numpy'``): a
zero denominator gives ``inf``/``nan``, which the Newton iteration treats as a step too far, never an
exception.

The kernels are compiled by numba and cached on disk next to this module.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, inline="always")
def _eta(beta, x, offset, row):
    eta = offset[row]
    for j in range(beta.shape[0]):
        eta += x[row, j] * beta[j]
    return eta


@numba.njit(cache=True, error_model="numpy")
def _sweep(beta, x, offset, weight, stop, event, x_out, offset_out, weight_out, start_out, bounds, efron, per_time):
    """Log partial likelihood, score and information at ``beta`` (one pass per stratum).

    The rows come twice, both copies contiguous so that the pass reads memory in order: sorted by
    stop time (``x``, ``offset``, ``weight``, ``stop``, ``event``: rows join the risk set in this
    order) and sorted by start time (``x_out``, ``offset_out``, ``weight_out``, ``start_out``: rows
    leave in this order), each by stratum first and descending within it; ``bounds`` delimits the
    strata in both. The linear predictor ``x beta + offset`` is formed row by row.

    When ``per_time`` is true the per-event-time pieces are returned as well (used by the
    residuals, the proportional-hazards test and the survival curves): for each event time, its
    stratum, the time, the number of deaths, the Efron hazard increments for a surviving and for a
    dying row, the variance increment of the hazard (R's ``varhaz``), the hazard-weighted means for
    both, the Efron mean of the covariates, the information contribution and the score
    contribution of that time.
    """
    n, p = x.shape
    n_strata = bounds.shape[0] - 1
    shift = np.zeros(n_strata)
    for s in range(n_strata):
        top = -np.inf
        for a in range(bounds[s], bounds[s + 1]):
            top = max(top, _eta(beta, x, offset, a))
        shift[s] = top if np.isfinite(top) else 0.0
    loglik = 0.0
    score = np.zeros(p)
    info = np.zeros((p, p))

    max_times = 0
    for a in range(n):
        if event[a]:
            max_times += 1
    if not per_time:
        max_times = 0
    t_stratum = np.empty(max_times, np.int64)
    t_time = np.empty(max_times)
    t_deaths = np.empty(max_times, np.int64)
    t_haz = np.empty(max_times)
    t_haz_dead = np.empty(max_times)
    t_haz2 = np.empty(max_times)
    t_xhaz = np.empty((max_times, p))
    t_xhaz_dead = np.empty((max_times, p))
    t_mean = np.empty((max_times, p))
    t_info = np.empty((max_times, p, p))
    t_score = np.empty((max_times, p))
    n_times = 0

    s1 = np.empty(p)
    s2 = np.empty((p, p))
    d1 = np.empty(p)
    d2 = np.empty((p, p))
    m1 = np.empty(p)
    u_t = np.empty(p)
    i_t = np.empty((p, p))
    for s in range(bounds.shape[0] - 1):
        lo = bounds[s]
        hi = bounds[s + 1]
        s0 = 0.0
        s1[:] = 0.0
        s2[:, :] = 0.0
        at_risk = 0
        a = lo  # next row to join (rows sorted by stop, descending)
        b = lo  # next row to leave (rows sorted by start, descending)
        while a < hi:
            t = stop[a]
            d0 = 0.0
            d1[:] = 0.0
            d2[:, :] = 0.0
            deaths = 0
            dead_weight = 0.0
            u_t[:] = 0.0
            i_t[:, :] = 0.0
            ll_t = 0.0
            while a < hi and stop[a] == t:
                eta = _eta(beta, x, offset, a)
                r = weight[a] * np.exp(eta - shift[s])
                s0 += r
                for j in range(p):
                    s1[j] += r * x[a, j]
                    for k in range(j + 1):
                        s2[j, k] += r * x[a, j] * x[a, k]
                at_risk += 1
                if event[a]:
                    deaths += 1
                    dead_weight += weight[a]
                    d0 += r
                    ll_t += weight[a] * eta
                    for j in range(p):
                        d1[j] += r * x[a, j]
                        u_t[j] += weight[a] * x[a, j]
                        for k in range(j + 1):
                            d2[j, k] += r * x[a, j] * x[a, k]
                a += 1
            while b < hi and start_out[b] >= t:
                r = weight_out[b] * np.exp(_eta(beta, x_out, offset_out, b) - shift[s])
                s0 -= r
                for j in range(p):
                    s1[j] -= r * x_out[b, j]
                    for k in range(j + 1):
                        s2[j, k] -= r * x_out[b, j] * x_out[b, k]
                at_risk -= 1
                b += 1
            if at_risk == 0:
                # the risk set emptied: restart the sums so round-off does not carry over
                s0 = 0.0
                s1[:] = 0.0
                s2[:, :] = 0.0
            if deaths == 0:
                continue
            haz = 0.0
            haz_dead = 0.0
            haz2 = 0.0
            if per_time:
                t_xhaz[n_times, :] = 0.0
                t_xhaz_dead[n_times, :] = 0.0
                t_mean[n_times, :] = 0.0
            if efron:
                mean_weight = dead_weight / deaths
                for k_dead in range(deaths):
                    f = k_dead / deaths
                    den = s0 - f * d0
                    ll_t -= mean_weight * (np.log(den) + shift[s])
                    for j in range(p):
                        m1[j] = (s1[j] - f * d1[j]) / den
                        u_t[j] -= mean_weight * m1[j]
                    for j in range(p):
                        for k in range(j + 1):
                            i_t[j, k] += mean_weight * ((s2[j, k] - f * d2[j, k]) / den - m1[j] * m1[k])
                    if per_time:
                        h = mean_weight / den * np.exp(-shift[s])
                        haz += h
                        haz2 += h * h / mean_weight
                        haz_dead += (1.0 - f) * h
                        for j in range(p):
                            t_xhaz[n_times, j] += m1[j] * h
                            t_xhaz_dead[n_times, j] += (1.0 - f) * m1[j] * h
                            t_mean[n_times, j] += m1[j] / deaths
            else:
                ll_t -= dead_weight * (np.log(s0) + shift[s])
                for j in range(p):
                    m1[j] = s1[j] / s0
                    u_t[j] -= dead_weight * m1[j]
                for j in range(p):
                    for k in range(j + 1):
                        i_t[j, k] += dead_weight * (s2[j, k] / s0 - m1[j] * m1[k])
                if per_time:
                    haz = dead_weight / s0 * np.exp(-shift[s])
                    haz_dead = haz
                    haz2 = haz * haz / dead_weight
                    for j in range(p):
                        t_xhaz[n_times, j] = m1[j] * haz
                        t_xhaz_dead[n_times, j] = m1[j] * haz
                        t_mean[n_times, j] = m1[j]
            loglik += ll_t
            for j in range(p):
                score[j] += u_t[j]
                for k in range(j + 1):
                    info[j, k] += i_t[j, k]
            if per_time:
                t_stratum[n_times] = s
                t_time[n_times] = t
                t_deaths[n_times] = deaths
                t_haz[n_times] = haz
                t_haz_dead[n_times] = haz_dead
                t_haz2[n_times] = haz2
                for j in range(p):
                    t_score[n_times, j] = u_t[j]
                    for k in range(j + 1):
                        t_info[n_times, j, k] = i_t[j, k]
                        t_info[n_times, k, j] = i_t[j, k]
                n_times += 1
    for j in range(p):
        for k in range(j):
            info[k, j] = info[j, k]
    return (
        loglik, score, info,
        t_stratum[:n_times], t_time[:n_times], t_deaths[:n_times], t_haz[:n_times], t_haz_dead[:n_times],
        t_haz2[:n_times],
        t_xhaz[:n_times], t_xhaz_dead[:n_times], t_mean[:n_times], t_info[:n_times], t_score[:n_times],
    )


class RiskSets:
    """Counting-process data sorted once for repeated sweeps (one per Newton iteration).

    ``start``, ``stop``, ``event`` (0/1), ``weight`` and ``stratum`` (integer codes) are 1-D arrays of
    the same length; ``x`` is the (n, p) covariate matrix, already centred by the caller; ``offset``
    (optional) is added to every linear predictor with a fixed coefficient of 1.
    """

    def __init__(self, x, start, stop, event, weight, stratum, efron: bool, offset=None):
        x = np.asarray(x, dtype=float)
        self.n, self.p = x.shape
        offset = np.zeros(self.n) if offset is None else np.asarray(offset, dtype=float)
        start = np.asarray(start, dtype=float)
        stop = np.asarray(stop, dtype=float)
        stratum = np.asarray(stratum, dtype=np.int64)
        self.efron = efron
        # stratum first, then descending time; ties in any order (deaths before censorings at a tied
        # stop time does not matter for the sums)
        by_stop = _descending_within(stop, stratum)
        by_start = _descending_within(start, stratum)
        weight = np.asarray(weight, dtype=float)
        self.x = np.take(x, by_stop, axis=0)
        self.offset = np.take(offset, by_stop)
        self.stop = np.take(stop, by_stop)
        self.event = np.take(np.asarray(event, dtype=np.bool_), by_stop)
        self.weight = np.take(weight, by_stop)
        self.x_out = np.take(x, by_start, axis=0)
        self.offset_out = np.take(offset, by_start)
        self.start_out = np.take(start, by_start)
        self.weight_out = np.take(weight, by_start)
        counts = np.bincount(stratum, minlength=int(stratum.max()) + 1 if self.n else 0)
        self.bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def sweep(self, beta, per_time: bool = False):
        return _sweep(
            np.asarray(beta, dtype=float), self.x, self.offset, self.weight, self.stop, self.event,
            self.x_out, self.offset_out, self.weight_out, self.start_out, self.bounds, self.efron, per_time,
        )


def _descending_within(time: np.ndarray, stratum: np.ndarray) -> np.ndarray:
    """Row order by stratum, then by descending ``time`` (ties in any order)."""
    order = np.argsort(-time)
    if len(stratum) and stratum.min() != stratum.max():
        order = order[np.argsort(stratum[order], kind="stable")]
    return order
