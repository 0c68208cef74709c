"""Pointwise confidence intervals for a survival curve, as R's ``survfit`` builds them.

``se_log`` is the standard error of ``-log S`` (for a Cox model, of the cumulative hazard), the scale
on which R keeps ``std.err``. The transforms are R's ``conf.type``: ``"log"`` (the default),
``"log-log"``, ``"plain"``, ``"logit"``; the upper limit of ``"log"`` and ``"plain"`` is clipped at 1.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

CONF_TYPES = ("log", "log-log", "plain", "logit")


def check_conf_type(conf_type: str) -> str:
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    return conf_type


def survival_band(surv: np.ndarray, se_log: np.ndarray, alpha: float, conf_type: str = "log"):
    """(lower, upper) of a ``1 - alpha`` pointwise interval; NaN where R gives NA (S = 0, or S = 1
    for log-log and logit)."""
    check_conf_type(conf_type)
    z = stats.norm.ppf(1 - alpha / 2)
    surv = np.asarray(surv, dtype=float)
    se_log = np.asarray(se_log, dtype=float)
    with np.errstate(all="ignore"):
        if conf_type == "log":
            p = np.where(surv == 0, np.nan, surv)
            return np.exp(np.log(p) - z * se_log), np.minimum(np.exp(np.log(p) + z * se_log), 1.0)
        if conf_type == "plain":
            half = z * se_log * surv
            return np.maximum(surv - half, 0.0), np.minimum(surv + half, 1.0)
        if conf_type == "log-log":
            p = np.where((surv == 0) | (surv == 1), np.nan, surv)
            shift = z * se_log / np.log(p)
            return np.exp(-np.exp(np.log(-np.log(p)) - shift)), np.exp(-np.exp(np.log(-np.log(p)) + shift))
        p = np.where(surv == 0, np.nan, surv)
        shift = z * se_log * (1 + p / (1 - p))
        logit = np.log(p / (1 - p))
        return 1 - 1 / (1 + np.exp(logit - shift)), 1 - 1 / (1 + np.exp(logit + shift))
