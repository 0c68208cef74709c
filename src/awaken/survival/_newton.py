"""Newton-Raphson for the partial likelihoods (Cox, Fine-Gray), with R's rules on the edges.

One maximiser, shared: step halving from beta = 0; converged when the log-likelihood changes by
less than :data:`RELATIVE_TOLERANCE` and every step is below 1e-8 relative; and R's test for a
coefficient running off to infinity (a monotone likelihood, "separation"): where R's ``coxph`` would
stop (a change below its ``eps = 1e-9``), a coefficient whose next Newton step exceeds
``toler.inf (1 + |beta|)`` "may be infinite" (``agreg.fit``: ``infs <- abs(u %*% vmat)``). The
estimates, the information and what happened are returned; the estimators word the warnings.

Also here: the checks that refuse covariates without information before fitting (R reports NA
for them), and the linear algebra that must not raise on a singular matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.linalg import qr

from awaken.survival._validate import UninformativeCovariates

__all__ = ["NewtonFit", "maximise", "refuse_uninformative", "solve", "inverse", "quadratic", "and_list"]

MAX_ITERATIONS = 50
MAX_HALVINGS = 30
#: Newton stops when the log-likelihood changes by less than this (relative) and the step is below
#: 1e-8 (relative to 1 + |beta|): R's default eps is 1e-9; this is tighter, so that estimates agree
#: with R's well past 6 significant digits
RELATIVE_TOLERANCE = 1e-12
#: R's coxph.control(eps): where R stops, the infinite-coefficient test is made
R_EPS = 1e-9
#: R's coxph.control(toler.inf) at its default eps
TOLER_INF = R_EPS**0.5
#: A covariate whose information is below this share of what its spread would give is uninformative.
INFORMATION_TOLERANCE = 1e-9
#: A covariate whose scaled information left after the covariates before it is below this is collinear.
COLLINEARITY_TOLERANCE = 1e-10
#: Information at the estimate below this share of its value at beta = 0 is gone.
LOST_INFORMATION = 1e-12

Evaluate = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class NewtonFit:
    beta: np.ndarray
    log_likelihood: float
    log_likelihood_null: float
    score_null: np.ndarray
    information: np.ndarray
    information_null: np.ndarray
    iterations: int
    converged: bool
    infinite: np.ndarray  # bool per coefficient: the likelihood keeps rising along it ("may be infinite")
    not_estimable: np.ndarray  # bool: no information left once the infinite ones are at infinity (R: NA)


def maximise(evaluate: Evaluate, p: int, refuse: Callable[[np.ndarray], None] | None = None) -> NewtonFit:
    """Maximise ``evaluate(beta) -> (loglik, score, information)`` from beta = 0.

    ``refuse(information_at_zero)`` may raise before any step (covariates without information).
    The caller holds ``np.errstate``; non-finite values are treated as a step too far."""
    beta = np.zeros(p)
    loglik, score, info = evaluate(beta)
    if refuse is not None:
        refuse(info)
    null = (loglik, score, info)
    converged = False
    infinite = np.zeros(p, dtype=bool)
    iterations = 0
    while iterations < MAX_ITERATIONS:
        iterations += 1
        step = solve(info, score)
        for _ in range(MAX_HALVINGS):
            new_beta = beta + step
            new = evaluate(new_beta)
            if (np.isfinite(new[0]) and new[0] >= loglik - 1e-12 * abs(loglik) and np.all(np.isfinite(new[1]))
                    and np.all(np.isfinite(new[2]))):
                break
            step = step / 2
        else:
            # no step raises the likelihood: it is at its maximum to machine precision, at a finite
            # point or along a direction where a coefficient runs off to infinity
            infinite = running_off(info, score, beta)
            converged = not infinite.any()
            break
        change = abs(new[0] - loglik)
        beta, (loglik, score, info) = new_beta, new[:3]
        small_step = np.all(np.abs(step) <= 1e-8 * np.maximum(1.0, np.abs(beta)))
        if change <= RELATIVE_TOLERANCE * max(abs(loglik), 1.0) and small_step:
            converged = True
            break
        if change <= R_EPS * max(abs(loglik), 1.0):
            # where R would stop: is a coefficient running off to infinity? (tested there, before
            # round-off at very large coefficients blurs the information)
            running = running_off(info, score, beta)
            if running.any():
                infinite = running
                break
    lost = information_lost(info, null[2])
    if infinite.any():
        not_estimable = lost & ~infinite
    else:
        # the information has vanished along some direction while no step could tell: the
        # coefficients there may be infinite whatever the last step looked like
        infinite, not_estimable = lost, np.zeros(p, dtype=bool)
        converged = converged and not lost.any()
    return NewtonFit(beta=beta, log_likelihood=loglik, log_likelihood_null=null[0], score_null=null[1],
                     information=info, information_null=null[2], iterations=iterations, converged=converged,
                     infinite=infinite, not_estimable=not_estimable)


def running_off(info: np.ndarray, score: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """R's infinite-coefficient test: the next Newton step is large relative to ``1 + |beta|``."""
    next_step = np.abs(solve(info, score))
    return ~np.isfinite(next_step) | (next_step > TOLER_INF * (1 + np.abs(beta)))


def information_lost(info: np.ndarray, null_info: np.ndarray) -> np.ndarray:
    """Coefficients along which the information at the estimate is numerically nothing compared with
    that at beta = 0 (diagonal, or rank once scaled by it, below :data:`LOST_INFORMATION`)."""
    p = info.shape[0]
    if p == 0:
        return np.zeros(0, dtype=bool)
    scale = np.sqrt(np.abs(np.diag(null_info)))
    with np.errstate(all="ignore"):
        scaled = info / np.outer(scale, scale)
    if not np.all(np.isfinite(scaled)):
        return ~np.isfinite(np.diag(scaled)) | ~np.all(np.isfinite(scaled), axis=0)
    lost = ~(np.diag(scaled) > LOST_INFORMATION)
    if not lost.any():
        _, r, pivot = qr(scaled, pivoting=True)
        rank = int(np.sum(np.abs(np.diag(r)) > LOST_INFORMATION))
        lost[pivot[rank:]] = True
    return lost


def refuse_uninformative(info: np.ndarray, names: Sequence[str], spread: np.ndarray, events: float,
                         where: str, r_says: str) -> None:
    """Refuse covariates the data carry no information on, by name (:class:`UninformativeCovariates`).

    A covariate is uninformative when its information at beta = 0 is below
    :data:`INFORMATION_TOLERANCE` of what its spread would give (``events`` x its variance) - the
    information of a covariate constant within strata is round-off, not exactly zero - or when a
    Cholesky in column order (R's ``cholesky2``) finds it adds nothing to the covariates before it:
    of two collinear covariates the later is named, as R sets the later to NA. ``where`` says where
    the information comes from, ``r_says`` what R does there."""
    if info.size == 0:
        return
    diagonal = np.diag(info)
    lacking = (spread <= 0) | ~(diagonal > INFORMATION_TOLERANCE * events * spread)
    bad = [names[j] for j in np.flatnonzero(lacking)]
    reason = f"constant among {where}, e.g. within every stratum"
    if not bad:
        scale = np.sqrt(diagonal)
        scaled = info / np.outer(scale, scale)
        kept: list[int] = []
        for j in range(len(names)):
            residual = scaled[j, j] - (scaled[j, kept] @ np.linalg.solve(scaled[np.ix_(kept, kept)], scaled[kept, j])
                                       if kept else 0.0)
            if residual > COLLINEARITY_TOLERANCE:
                kept.append(j)
            else:
                bad.append(names[j])
        reason = f"collinear with the covariates before them among {where}"
    if bad:
        raise UninformativeCovariates(f"covariate(s) {bad} carry no information in these data ({reason}); drop "
                                      f"them ({r_says})", bad)


def inverse(matrix: np.ndarray) -> np.ndarray:
    """Inverse of an information matrix; a generalised inverse when it is numerically singular."""
    if matrix.size == 0:
        return np.zeros((0, 0))
    with np.errstate(all="ignore"):
        try:
            result = np.linalg.inv(matrix)
            if np.all(np.isfinite(result)):
                return result
        except np.linalg.LinAlgError:
            pass
        return np.linalg.pinv(matrix)


def solve(info: np.ndarray, score: np.ndarray) -> np.ndarray:
    """``info^-1 score``, least squares when ``info`` is singular, never an exception."""
    if info.size == 0:
        return np.zeros(0)
    with np.errstate(all="ignore"):
        try:
            step = np.linalg.solve(info, score)
            if np.all(np.isfinite(step)):
                return step
        except np.linalg.LinAlgError:
            pass
        try:
            return np.linalg.lstsq(info, score, rcond=None)[0]
        except (np.linalg.LinAlgError, ValueError):
            return np.zeros_like(score)


def quadratic(vector: np.ndarray, matrix: np.ndarray) -> float:
    """``v' M^-1 v`` (a score or Wald statistic)."""
    return float(vector @ solve(matrix, vector)) if vector.size else 0.0


def and_list(names: Sequence[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
