"""Risk-set sweeps for the Cox partial likelihood on counting-process ``(start, stop]`` data.

One pass over each stratum, from the last event time backwards, keeps running sums over the
rows at risk: a row joins when the sweep reaches its ``stop`` and leaves when the sweep passes
its ``start`` (a row is at risk at ``t`` when ``start < t <= stop``). Sorting is done once by the
caller, so each Newton iteration costs O(N p^2) on top of an O(N log N) sort, the same scheme as
Therneau's ``agfit4`` in R ``survival``. Ties are handled as Efron (1977) or Breslow (1974), with
case weights entering as R does (Efron uses the mean weight of the tied deaths).

The kernels are compiled by numba and cached on disk next to this module.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def _sweep(x, eta, weight, start, stop, event, by_stop, by_start, bounds, efron, per_time):
    """Log partial likelihood, score and information at ``eta`` (one pass per stratum).

    When ``per_time`` is true the per-event-time pieces are returned as well (used by the
    residuals and the proportional-hazards test): for each event time, its stratum, the time,
    the number of deaths, the Efron hazard increments for a surviving and for a dying row, the
    hazard-weighted means for both, the Efron mean of the covariates, the information
    contribution and the score contribution of that time.
    """
    n, p = x.shape
    risk = np.empty(n)
    for i in range(n):
        risk[i] = weight[i] * np.exp(eta[i])
    loglik = 0.0
    score = np.zeros(p)
    info = np.zeros((p, p))

    max_times = 0
    for i in range(n):
        if event[i]:
            max_times += 1
    if not per_time:
        max_times = 0
    t_stratum = np.empty(max_times, np.int64)
    t_time = np.empty(max_times)
    t_deaths = np.empty(max_times, np.int64)
    t_haz = np.empty(max_times)
    t_haz_dead = np.empty(max_times)
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
            t = stop[by_stop[a]]
            d0 = 0.0
            d1[:] = 0.0
            d2[:, :] = 0.0
            deaths = 0
            dead_weight = 0.0
            u_t[:] = 0.0
            i_t[:, :] = 0.0
            ll_t = 0.0
            while a < hi and stop[by_stop[a]] == t:
                i = by_stop[a]
                r = risk[i]
                s0 += r
                for j in range(p):
                    s1[j] += r * x[i, j]
                    for k in range(j + 1):
                        s2[j, k] += r * x[i, j] * x[i, k]
                at_risk += 1
                if event[i]:
                    deaths += 1
                    dead_weight += weight[i]
                    d0 += r
                    ll_t += weight[i] * eta[i]
                    for j in range(p):
                        d1[j] += r * x[i, j]
                        u_t[j] += weight[i] * x[i, j]
                        for k in range(j + 1):
                            d2[j, k] += r * x[i, j] * x[i, k]
                a += 1
            while b < hi and start[by_start[b]] >= t:
                i = by_start[b]
                r = risk[i]
                s0 -= r
                for j in range(p):
                    s1[j] -= r * x[i, j]
                    for k in range(j + 1):
                        s2[j, k] -= r * x[i, j] * x[i, k]
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
            if per_time:
                t_xhaz[n_times, :] = 0.0
                t_xhaz_dead[n_times, :] = 0.0
                t_mean[n_times, :] = 0.0
            if efron:
                mean_weight = dead_weight / deaths
                for k_dead in range(deaths):
                    f = k_dead / deaths
                    den = s0 - f * d0
                    ll_t -= mean_weight * np.log(den)
                    for j in range(p):
                        m1[j] = (s1[j] - f * d1[j]) / den
                        u_t[j] -= mean_weight * m1[j]
                    for j in range(p):
                        for k in range(j + 1):
                            i_t[j, k] += mean_weight * ((s2[j, k] - f * d2[j, k]) / den - m1[j] * m1[k])
                    if per_time:
                        h = mean_weight / den
                        haz += h
                        haz_dead += (1.0 - f) * h
                        for j in range(p):
                            t_xhaz[n_times, j] += m1[j] * h
                            t_xhaz_dead[n_times, j] += (1.0 - f) * m1[j] * h
                            t_mean[n_times, j] += m1[j] / deaths
            else:
                ll_t -= dead_weight * np.log(s0)
                for j in range(p):
                    m1[j] = s1[j] / s0
                    u_t[j] -= dead_weight * m1[j]
                for j in range(p):
                    for k in range(j + 1):
                        i_t[j, k] += dead_weight * (s2[j, k] / s0 - m1[j] * m1[k])
                if per_time:
                    haz = dead_weight / s0
                    haz_dead = haz
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
        t_xhaz[:n_times], t_xhaz_dead[:n_times], t_mean[:n_times], t_info[:n_times], t_score[:n_times],
    )


class RiskSets:
    """Counting-process data sorted once for repeated sweeps (one per Newton iteration).

    ``start``, ``stop``, ``event`` (0/1), ``weight`` and ``stratum`` (integer codes) are 1-D arrays of
    the same length; ``x`` is the (n, p) covariate matrix, already centred by the caller.
    """

    def __init__(self, x, start, stop, event, weight, stratum, efron: bool):
        self.x = np.ascontiguousarray(x, dtype=float)
        self.start = np.ascontiguousarray(start, dtype=float)
        self.stop = np.ascontiguousarray(stop, dtype=float)
        self.event = np.ascontiguousarray(event, dtype=np.bool_)
        self.weight = np.ascontiguousarray(weight, dtype=float)
        self.stratum = np.ascontiguousarray(stratum, dtype=np.int64)
        self.efron = efron
        # deaths before censorings at a tied stop time does not matter for the sums; stratum first
        self.by_stop = np.lexsort((-self.stop, self.stratum)).astype(np.int64)
        self.by_start = np.lexsort((-self.start, self.stratum)).astype(np.int64)
        counts = np.bincount(self.stratum, minlength=int(self.stratum.max()) + 1 if len(self.stratum) else 0)
        self.bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def sweep(self, beta, per_time: bool = False):
        eta = self.x @ beta
        return _sweep(
            self.x, eta, self.weight, self.start, self.stop, self.event,
            self.by_stop, self.by_start, self.bounds, self.efron, per_time,
        )
