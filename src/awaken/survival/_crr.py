"""crr's problem: the data of a Fine-Gray fit sorted once, its censoring weights, and the
pseudo-likelihood and sandwich meat at any beta (Fine & Gray 1999; ``cmprsk::crr``).

A subject who failed from another cause at ``T`` stays at risk at ``t > T`` with weight
``G(t-) / G(T-)``, ``G`` the Kaplan-Meier of censoring in the subject's censoring group; the meat of
the sandwich carries the uncertainty of ``G`` (Fine & Gray 1999, sec. 3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from awaken.survival._crr_kernels import fixed_sums, varying_influence, varying_sums
from awaken.survival._newton import refuse_uninformative
from awaken.survival._validate import SurvivalDataError

__all__ = ["CrrProblem"]

#: Beyond this spread of the linear predictor one shared shift would push risks below 1e-260 (losing
#: digits), so the sandwich is computed failure time by failure time instead.
MAX_SHARED_SHIFT = 600.0
_EPS = np.finfo(float).eps


class CrrProblem:
    """Sorted data of a crr fit, its censoring weights and the sums it needs, at any beta.

    ``status``: 1 the cause, 2 another cause, 0 censored (crr's ``ici``); rows sorted by time.
    """

    def __init__(self, time, status, x_fixed, x_varying, group, tf, censoring_group_variance):
        self.time = np.ascontiguousarray(time, dtype=float)
        self.status = np.ascontiguousarray(status, dtype=np.int64)
        self.group = np.ascontiguousarray(group, dtype=np.int64)
        self.n = len(time)
        self.n_groups = int(self.group.max()) + 1
        self.uft, self.d = np.unique(self.time[self.status == 1], return_counts=True)
        self.d = self.d.astype(float)
        self.ndf = len(self.uft)
        # centred, so that s2/s0 - mean mean' does not cancel catastrophically (crr does not centre;
        # the estimates and the pseudo-likelihood do not change)
        self.centre_fixed = x_fixed.mean(axis=0) if x_fixed.size else np.zeros(x_fixed.shape[1])
        self.centre_varying = x_varying.mean(axis=0) if x_varying.size else np.zeros(x_varying.shape[1])
        self.x_fixed = np.ascontiguousarray(x_fixed - self.centre_fixed)
        self.x_varying = np.ascontiguousarray(x_varying - self.centre_varying)
        self.p_fixed = x_fixed.shape[1]
        self.p = self.p_fixed + x_varying.shape[1]
        self.tfs, self.tf_labels = _time_functions(tf, self.uft, x_varying.shape[1])
        self.g_row, self.g_fail = _crr_censoring_weights(self.time, self.status == 0, self.group, self.uft,
                                                         self.n_groups)
        self.first_at = np.searchsorted(self.time, self.uft, side="left")
        self.other = np.flatnonzero(self.status == 2)
        self.n_other_before = np.searchsorted(self.time[self.other], self.uft, side="left")
        self.other_by_group = [self.other[self.group[self.other] == g] for g in range(self.n_groups)]
        self.other_rows = np.concatenate(self.other_by_group).astype(np.int64)
        self.other_bounds = np.concatenate([[0], np.cumsum([rows.size for rows in self.other_by_group])]).astype(np.int64)
        self.other_before = np.array([np.searchsorted(self.time[rows], self.uft, side="left")
                                      for rows in self.other_by_group], dtype=np.int64).reshape(self.n_groups, -1)
        self.fail = np.flatnonzero(self.status == 1)
        self.upto = np.searchsorted(self.uft, self.time, side="right")  # failure times <= each row's time
        # the failures whose risk sets carry each group's censoring term (see FineGray)
        if censoring_group_variance == "crr":
            self.d_of_group = np.zeros((self.n_groups, self.ndf))
            np.add.at(self.d_of_group, (self.group[self.fail], self.upto[self.fail] - 1), 1.0)
        else:
            self.d_of_group = np.repeat(self.d[None, :], self.n_groups, axis=0)

    # ---------------------------------------------------------------- checks
    def refuse_uninformative(self, info: np.ndarray, names: list[str]) -> None:
        """Refuse covariates the data carry no information on (constant among the subjects at risk at
        every failure, or a linear combination of others), as :class:`CoxPH` does."""
        spread = np.concatenate([self.x_fixed.var(axis=0) if self.n else np.zeros(self.p_fixed),
                                 self.x_varying.var(axis=0) * np.mean(self.tfs**2, axis=0)])
        refuse_uninformative(info, names, spread, len(self.fail),
                             "the subjects at risk at every failure of the cause",
                             "cmprsk::crr stops with 'system is exactly singular' there")

    # ---------------------------------------------------------------- pseudo-likelihood
    def evaluate(self, beta: np.ndarray):
        """Log pseudo-likelihood, its gradient and the negative Hessian at ``beta``."""
        if self.p > self.p_fixed:
            loglik, score, info, *_ = varying_sums(*self._varying_arguments(beta), True)
            return loglik, score, info
        eta = self.x_fixed @ beta
        shift, s0, s1, s2 = self._fixed_sums(eta, True)
        mean = s1 / s0[:, None]
        loglik = float(np.sum(eta[self.fail]) - np.sum(self.d * (np.log(s0) + shift)))
        score = self.x_fixed[self.fail].sum(axis=0) - self.d @ mean
        info = np.einsum("k,kij->ij", self.d, s2 / s0[:, None, None] - mean[:, :, None] * mean[:, None, :])
        return loglik, score, info

    def _fixed_sums(self, eta: np.ndarray, want_info: bool):
        """At each failure time: the shift (the largest log weight in the risk set) and the risk-set
        sums of ``w exp(eta - shift)`` times 1, x and x x' -- everyone still at risk, plus the
        other-cause failures before it with weight ``G(t-) / G(T-)``."""
        return fixed_sums(self.x_fixed, np.ascontiguousarray(eta), self.first_at, self.other_rows,
                           self.other_bounds, self.other_before, self.g_row, self.g_fail, want_info)

    def _risk_sums(self, values: np.ndarray) -> np.ndarray:
        """Sums over the weighted risk set at each failure time of ``values`` (rows x k), by cumulative
        sums (for values already on one common scale)."""
        suffix = np.vstack([np.cumsum(values[::-1], axis=0)[::-1], np.zeros((1, values.shape[1]))])
        total = suffix[self.first_at]
        for g, rows in enumerate(self.other_by_group):
            if rows.size == 0:
                continue
            scaled = values[rows] / self.g_row[rows, None]
            cum = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(scaled, axis=0)])
            total += self.g_fail[g][:, None] * cum[self.other_before[g]]
        return total

    def _varying_arguments(self, beta):
        return (self.x_fixed, self.x_varying, self.tfs, np.ascontiguousarray(beta, dtype=float), self.time,
                self.status, self.group, self.uft, self.first_at, self.other, self.n_other_before, self.g_row,
                self.g_fail, self.d)

    def _per_time(self, beta: np.ndarray):
        """shift, s0 and the mean covariates at each failure time (as :meth:`_fixed_sums`)."""
        if self.p > self.p_fixed:
            _, _, _, shift, s0, mean = varying_sums(*self._varying_arguments(beta), False)
            return shift, s0, mean
        shift, s0, s1, _ = self._fixed_sums(self.x_fixed @ beta, False)
        return shift, s0, s1 / s0[:, None]

    def log_jumps(self, beta: np.ndarray) -> np.ndarray:
        """log of crr's ``bfitj``: the jumps of the baseline cumulative subdistribution hazard at covariates 0."""
        p1 = self.p_fixed
        offset = self.centre_fixed @ beta[:p1] + self.tfs @ (self.centre_varying * beta[p1:])
        shift, s0, _ = self._per_time(beta)
        return np.log(self.d) - np.log(s0) - shift - offset

    # ---------------------------------------------------------------- sandwich
    def score_variance(self, beta: np.ndarray) -> np.ndarray:
        """Variance of the score, ``sum_i (eta_i + psi_i)(eta_i + psi_i)'``: ``eta_i`` the subject's
        score residual, ``psi_i`` the uncertainty of the censoring distribution (Fine & Gray 1999,
        sec. 3; crr's ``crrvv``)."""
        time, status, x, group = self.time, self.status, self.x_fixed, self.group
        eta = x @ beta[:self.p_fixed]
        if self.p > self.p_fixed or np.ptp(eta) > MAX_SHARED_SHIFT:
            # one pass per subject over the failure times, each with its own shift: O(N x failure times)
            shift, s0, mean = self._per_time(beta)
            total = varying_influence(*self._varying_arguments(beta), self.upto, self.d_of_group, shift, s0, mean,
                                       self.n_groups)
            return total.T @ total
        # the linear predictor spreads little: one shift for all, cumulative sums, O(N log N)
        risk = np.exp(eta - np.max(eta))
        sums = self._risk_sums(np.column_stack([risk, risk[:, None] * x]))
        s0 = sums[:, 0]
        mean = sums[:, 1:] / s0[:, None]
        a = self.d / s0                # d Lambda_0 at each failure time (at the shifted scale)
        b = mean * a[:, None]
        # at risk with weight 1 up to its own time: the d Lambda part of the score residual
        cum_a = np.concatenate([[0.0], np.cumsum(a)])
        cum_b = np.vstack([np.zeros((1, self.p)), np.cumsum(b, axis=0)])
        upto = self.upto
        influence = -risk[:, None] * (x * cum_a[upto, None] - cum_b[upto])
        influence[self.fail] += x[self.fail] - mean[upto[self.fail] - 1]
        for g, rows in enumerate(self.other_by_group):
            # other-cause failures stay at risk after their time with weight G(t-) / G(T-)
            weight = self.g_fail[g]
            tail_a = np.concatenate([np.cumsum((weight * a)[::-1])[::-1], [0.0]])
            tail_b = np.vstack([np.cumsum((weight[:, None] * b)[::-1], axis=0)[::-1], np.zeros((1, self.p))])
            after = upto[rows]
            influence[rows] -= (risk[rows] / self.g_row[rows])[:, None] * (x[rows] * tail_a[after, None] - tail_b[after])
        psi = np.zeros((self.n, self.p))
        for g, rows_other in enumerate(self.other_by_group):
            # q_g(u): how the score moves with group g's censoring hazard at u, through the weights of
            # g's other-cause failures before u in the risk sets of the failures at or after u
            rows = np.flatnonzero(group == g)
            censored = rows[status[rows] == 0]
            if censored.size == 0:
                continue
            u, at_risk_u, dc = _censoring_table(time[rows], status[rows] == 0)
            weight = self.g_fail[g] * self.d_of_group[g] / s0
            q_a = np.concatenate([np.cumsum(weight[::-1])[::-1], [0.0]])
            q_b = np.vstack([np.cumsum((weight[:, None] * mean)[::-1], axis=0)[::-1], np.zeros((1, self.p))])
            scaled = risk[rows_other] / self.g_row[rows_other]
            cum0 = np.concatenate([[0.0], np.cumsum(scaled)])
            cum1 = np.vstack([np.zeros((1, self.p)), np.cumsum(scaled[:, None] * x[rows_other], axis=0)])
            before = np.searchsorted(time[rows_other], u, side="left")
            from_failure = np.searchsorted(self.uft, u, side="left")
            q = q_a[from_failure, None] * cum1[before] - q_b[from_failure] * cum0[before, None]
            drift = np.vstack([np.zeros((1, self.p)), np.cumsum(-q * (dc / at_risk_u**2)[:, None], axis=0)])
            psi[rows] = drift[np.searchsorted(u, time[rows], side="right")]
            own = np.searchsorted(u, time[censored])
            psi[censored] += q[own] / at_risk_u[own, None]
        total = influence + psi
        return total.T @ total


def _censoring_table(time: np.ndarray, censored: np.ndarray):
    """The censoring times of sorted ``time`` with the number at risk (time >= u) and censored at each."""
    u, dc = np.unique(time[censored], return_counts=True)
    at_risk = len(time) - np.searchsorted(time, u, side="left")
    return u, at_risk.astype(float), dc.astype(float)


def _crr_censoring_weights(time, censored, group, uft, n_groups):
    """crr's ``uuu``: the Kaplan-Meier of censoring of each group (failures at a time are at risk of being
    censored at it), read just before each row's time and each failure time, as crr reads it
    (``approx(..., xout = t * (1 - 100 eps), method = "constant")``)."""
    g_row = np.ones(len(time))
    g_fail = np.ones((n_groups, len(uft)))
    for g in range(n_groups):
        rows = np.flatnonzero(group == g)
        grid = np.unique(time[rows])
        at_risk = len(rows) - np.searchsorted(time[rows], grid, side="left")
        lost = np.bincount(np.searchsorted(grid, time[rows][censored[rows]]), minlength=len(grid))
        surv = np.concatenate([[1.0], np.cumprod(1.0 - lost / at_risk)])
        g_row[rows] = surv[np.searchsorted(grid, time[rows] * (1 - 100 * _EPS), side="right")]
        read = uft * (1 - 100 * _EPS)
        # past the group's last time crr's approx() reads 0: its other-cause failures leave the risk sets
        g_fail[g] = np.where(read >= grid[-1] * (1 + 10 * _EPS), 0.0, surv[np.searchsorted(grid, read, side="right")])
    return g_row, g_fail


def _time_functions(tf, uft: np.ndarray, p_varying: int):
    """``tf(uft)`` as an (failure times x p_varying) matrix, with the labels crr gives its columns."""
    if p_varying == 0:
        return np.zeros((len(uft), 0)), []
    with np.errstate(all="ignore"):   # tf's own arithmetic (log 0, ...) is checked below, by name
        values = tf(uft.copy())
    labels = [f"tf{j + 1}" for j in range(p_varying)]
    if isinstance(values, pd.DataFrame):
        labels = [str(c) if str(c) else labels[j] for j, c in enumerate(values.columns)][:p_varying] + \
            labels[values.shape[1]:]
    try:
        matrix = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise SurvivalDataError(f"tf must return numbers, it returned {type(values).__name__}: {error}") from None
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    if matrix.shape != (len(uft), p_varying):
        raise SurvivalDataError(f"tf(times) must return one row per failure time and one column per time_varying "
                                f"column, shape ({len(uft)}, {p_varying}); it returned {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        bad = uft[~np.all(np.isfinite(matrix), axis=1)][:5].tolist()
        raise SurvivalDataError(f"tf returned missing or infinite values at failure times {bad} "
                                f"(e.g. log of a time 0)")
    return np.ascontiguousarray(matrix), labels
