"""The compiled passes of crr's fit (numba, cached next to this module).

- :func:`fixed_sums`: the weighted risk-set sums ``S0, S1, S2`` at every failure time when the
  covariates do not depend on time, as suffix sums over rows sorted by time plus the other-cause
  subjects kept at risk with censoring weights, each failure time's terms scaled to its largest;
- :func:`varying_sums`, :func:`varying_influence`: with crr's ``cov2 * tf(t)`` terms, the linear
  predictor of every subject changes at every failure time, so each failure time is a pass over its
  risk set (O(N x failure times), as crr), for the pseudo-likelihood and for the sandwich's meat.

Arithmetic follows NumPy's rules (``error_model='numpy'``): never an exception.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["fixed_sums", "varying_sums", "varying_influence"]


@numba.njit(cache=True, error_model="numpy", inline="always")
def _add_row(e, x, i, q, top, a0, a1, a2):
    """Add row ``i`` (log weight ``e``, covariates ``x[i]``) to running sums ``a0, a1, a2`` kept relative to
    their largest log weight ``top`` (rescaled when ``e`` exceeds it); returns the new ``top, a0``."""
    if e > top:
        scale = np.exp(top - e)
        a0 *= scale
        a1 *= scale
        a2 *= scale
        top = e
    r = np.exp(e - top)
    a0 += r
    for j in range(x.shape[1]):
        a1[j] += r * x[i, j]
        for l in range(min(j + 1, q)):
            a2[j, l] += r * x[i, j] * x[i, l]
    return top, a0


@numba.njit(cache=True, error_model="numpy")
def fixed_sums(x, eta, first_at, other_rows, other_bounds, other_before, g_row, g_fail, want_info):
    """Risk-set sums at each failure time, each relative to its own largest term (so that no ``exp``
    overflows or loses digits however large a coefficient grows): one pass from the last row back for
    the subjects still at risk, one pass forward per censoring group for the other-cause failures."""
    n, p = x.shape
    ndf = first_at.shape[0]
    q = p if want_info else 0
    shift = np.full(ndf, -np.inf)
    s0 = np.zeros(ndf)
    s1 = np.zeros((ndf, p))
    s2 = np.zeros((ndf, q, q))
    a1 = np.zeros(p)
    a2 = np.zeros((q, q))
    top = -np.inf
    a0 = 0.0
    i = n - 1
    for k in range(ndf - 1, -1, -1):
        while i >= first_at[k]:
            top, a0 = _add_row(eta[i], x, i, q, top, a0, a1, a2)
            i -= 1
        shift[k] = top
        s0[k] = a0
        s1[k] = a1
        s2[k] = a2
    for g in range(other_bounds.shape[0] - 1):
        top = -np.inf
        a0 = 0.0
        a1[:] = 0.0
        a2[:, :] = 0.0
        pointer = other_bounds[g]
        for k in range(ndf):
            end = other_bounds[g] + other_before[g, k]
            while pointer < end:
                i = other_rows[pointer]
                top, a0 = _add_row(eta[i] - np.log(g_row[i]), x, i, q, top, a0, a1, a2)
                pointer += 1
            if a0 == 0.0 or g_fail[g, k] <= 0.0:
                continue
            e = top + np.log(g_fail[g, k])
            if e > shift[k]:
                scale = np.exp(shift[k] - e)
                s0[k] *= scale
                s1[k] *= scale
                s2[k] *= scale
                shift[k] = e
            r = np.exp(e - shift[k])
            s0[k] += r * a0
            s1[k] += r * a1
            s2[k] += r * a2
    for k in range(ndf):
        for j in range(q):
            for l in range(j):
                s2[k, l, j] = s2[k, j, l]
    return shift, s0, s1, s2


@numba.njit(cache=True, error_model="numpy")
def varying_sums(x1, x2, tfs, beta, time, status, group, uft, first_at, other, n_other_before, g_row, g_fail, d,
                  want_info):
    """crr's ``crrfsv`` with time-varying covariates: at each failure time the risk-set sums of
    ``w exp(eta - max eta)`` times 1, z and z z' (z = x1, x2 * tf(t)); the log pseudo-likelihood, score
    and information; the shift, s0 and mean at each failure time."""
    n = time.shape[0]
    p1 = x1.shape[1]
    p2 = x2.shape[1]
    p = p1 + p2
    ndf = uft.shape[0]
    loglik = 0.0
    score = np.zeros(p)
    info = np.zeros((p, p))
    shift = np.empty(ndf)
    s0_out = np.empty(ndf)
    mean_out = np.empty((ndf, p))
    fixed = np.zeros(n)
    for i in range(n):
        for j in range(p1):
            fixed[i] += x1[i, j] * beta[j]
    eta = np.empty(n)
    coef2 = np.empty(p2)
    s1 = np.empty(p)
    s2 = np.empty((p, p))
    z = np.empty(p)
    zf = np.empty(p)
    for k in range(ndf):
        for j in range(p2):
            coef2[j] = beta[p1 + j] * tfs[k, j]
        top = -np.inf
        for i in range(first_at[k], n):
            e = fixed[i]
            for j in range(p2):
                e += x2[i, j] * coef2[j]
            eta[i] = e
            top = max(top, e)
        for a in range(n_other_before[k]):
            i = other[a]
            e = fixed[i]
            for j in range(p2):
                e += x2[i, j] * coef2[j]
            eta[i] = e
            top = max(top, e)
        s0 = 0.0
        s1[:] = 0.0
        s2[:, :] = 0.0
        for a in range(n - first_at[k] + n_other_before[k]):
            if a < n_other_before[k]:
                i = other[a]
                r = np.exp(eta[i] - top) * g_fail[group[i], k] / g_row[i]
            else:
                i = first_at[k] + a - n_other_before[k]
                r = np.exp(eta[i] - top)
            for j in range(p1):
                z[j] = x1[i, j]
            for j in range(p2):
                z[p1 + j] = x2[i, j] * tfs[k, j]
            s0 += r
            for j in range(p):
                s1[j] += r * z[j]
            if want_info:
                for j in range(p):
                    for l in range(j + 1):
                        s2[j, l] += r * z[j] * z[l]
        zf[:] = 0.0
        eta_fail = 0.0
        i = first_at[k]
        while i < n and time[i] == uft[k]:
            if status[i] == 1:
                eta_fail += eta[i]
                for j in range(p1):
                    zf[j] += x1[i, j]
                for j in range(p2):
                    zf[p1 + j] += x2[i, j] * tfs[k, j]
            i += 1
        loglik += eta_fail - d[k] * (np.log(s0) + top)
        for j in range(p):
            mean_out[k, j] = s1[j] / s0
            score[j] += zf[j] - d[k] * s1[j] / s0
        if want_info:
            for j in range(p):
                for l in range(j + 1):
                    info[j, l] += d[k] * (s2[j, l] / s0 - mean_out[k, j] * mean_out[k, l])
        shift[k] = top
        s0_out[k] = s0
    for j in range(p):
        for l in range(j):
            info[l, j] = info[j, l]
    return loglik, score, info, shift, s0_out, mean_out


@numba.njit(cache=True, error_model="numpy")
def varying_influence(x1, x2, tfs, beta, time, status, group, uft, first_at, other, n_other_before, g_row, g_fail,
                       d, upto, d_of_group, shift, s0, mean, n_groups):
    """crr's ``crrvv`` meat with time-varying covariates: each subject's score residual (eta_i) plus its
    censoring term (psi_i), in one pass over the failure times per subject and one sweep over time for
    psi (q(u) kept as a running sum, so O(N x failure times) instead of crr's cubic loops)."""
    n = time.shape[0]
    p1 = x1.shape[1]
    p2 = x2.shape[1]
    p = p1 + p2
    ndf = uft.shape[0]
    total = np.zeros((n, p))
    z = np.empty(p)
    fixed = np.zeros(n)
    for i in range(n):
        for j in range(p1):
            fixed[i] += x1[i, j] * beta[j]
    # eta_i: minus the integral of (z_i(t) - mean(t)) over its weighted risk, plus its own failure
    for i in range(n):
        kend = upto[i]
        last = ndf if status[i] == 2 else kend
        for k in range(last):
            e = fixed[i]
            for j in range(p2):
                e += x2[i, j] * tfs[k, j] * beta[p1 + j]
            w = 1.0 if k < kend else g_fail[group[i], k] / g_row[i]
            r = w * np.exp(e - shift[k]) * d[k] / s0[k]
            for j in range(p1):
                total[i, j] -= r * (x1[i, j] - mean[k, j])
            for j in range(p2):
                total[i, p1 + j] -= r * (x2[i, j] * tfs[k, j] - mean[k, p1 + j])
        if status[i] == 1:
            k = kend - 1
            for j in range(p1):
                total[i, j] += x1[i, j] - mean[k, j]
            for j in range(p2):
                total[i, p1 + j] += x2[i, j] * tfs[k, j] - mean[k, p1 + j]
    # psi_i: sweep over the distinct times; q_g(u) = sum over the other-cause failures of group g before
    # u and the failure times at or after u, kept as a running sum
    contribution = np.zeros((n_groups, ndf, p))
    q = np.zeros((n_groups, p))
    drift = np.zeros((n_groups, p))
    at_risk = np.zeros(n_groups)
    for i in range(n):
        at_risk[group[i]] += 1
    censored = np.zeros(n_groups)
    k_next = 0
    a = 0
    while a < n:
        tau = time[a]
        b = a
        while b < n and time[b] == tau:
            b += 1
        censored[:] = 0.0
        for i in range(a, b):
            if status[i] == 0:
                censored[group[i]] += 1
        for g in range(n_groups):
            if censored[g] > 0:
                for j in range(p):
                    drift[g, j] -= censored[g] * q[g, j] / at_risk[g] ** 2
        for i in range(a, b):
            g = group[i]
            for j in range(p):
                total[i, j] += drift[g, j]
                if status[i] == 0:
                    total[i, j] += q[g, j] / at_risk[g]
        if k_next < ndf and uft[k_next] == tau:
            for g in range(n_groups):
                for j in range(p):
                    q[g, j] -= contribution[g, k_next, j]
            k_next += 1
        for i in range(a, b):
            if status[i] != 2:
                continue
            g = group[i]
            for k in range(k_next, ndf):
                if d_of_group[g, k] == 0:
                    continue
                e = fixed[i]
                for j in range(p2):
                    e += x2[i, j] * tfs[k, j] * beta[p1 + j]
                r = d_of_group[g, k] / s0[k] * g_fail[g, k] / g_row[i] * np.exp(e - shift[k])
                for j in range(p1):
                    z[j] = x1[i, j]
                for j in range(p2):
                    z[p1 + j] = x2[i, j] * tfs[k, j]
                for j in range(p):
                    c = r * (z[j] - mean[k, j])
                    contribution[g, k, j] += c
                    q[g, j] += c
        for i in range(a, b):
            at_risk[group[i]] -= 1
        a = b
    return total
