"""Effect measures of a trial: the number needed to treat (Altman 1998) and the harms per 1,000.

* :func:`number_needed_to_treat` -- the endpoints are harms, so an arm that lowers the risk has an
  NNT *to benefit* (NNTB = 1 / absolute risk reduction) and one that raises it an NNT *to harm*
  (NNTH); when the interval of the risk difference crosses 0 the interval of the NNT runs from NNTB
  through infinity to NNTH (both bounds are given, the far ones infinite) (Altman, BMJ 1998;317:1309).
* :func:`harm_table` -- harms and exposure counted on the paired table (every survivor under every
  arm), per 1,000 survivors of the arm and per 1,000 treated, with Wilson intervals for proportions
  (:func:`wilson`; Wilson 1927) and normal intervals for means.

Example
-------
>>> from awaken.trials.effect_measures import number_needed_to_treat, wilson
>>> number_needed_to_treat(-0.1, -0.15, -0.05)["text"]
'NNTB 10 (6.7 to 20)'
>>> [round(v, 3) for v in wilson(3, 10, 1.96)]
[0.108, 0.603]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["harm_table", "number_needed_to_treat", "wilson"]


def number_needed_to_treat(rd: float, lower: float, upper: float) -> dict[str, Any]:
    """NNT from a risk difference (arm - control) of a harmful endpoint and its interval (Altman 1998).

    Returns ``nnt`` (1 / |RD|, infinite at 0), ``to`` ("benefit", "harm" or "neither"), the interval
    as ``nntb_lower``/``nntb_upper`` and ``nnth_lower``/``nnth_upper`` (NaN where the interval does not
    reach that side; the far bound infinite when it crosses 0) and Altman's ``text``.

    >>> number_needed_to_treat(-0.05, -0.12, 0.02)["text"]
    'NNTB 20 (NNTH 50 to ∞ to NNTB 8.3)'
    """
    reduction, low, high = -rd, -upper, -lower  # absolute risk reduction and its interval
    with np.errstate(divide="ignore"):
        inv = lambda x: float(np.divide(1.0, abs(x))) if x != 0 else math.inf  # noqa: E731
    out: dict[str, Any] = {"nnt": inv(reduction),
                           "to": "benefit" if reduction > 0 else "harm" if reduction < 0 else "neither",
                           "nntb_lower": math.nan, "nntb_upper": math.nan, "nnth_lower": math.nan,
                           "nnth_upper": math.nan}
    if any(map(math.isnan, (rd, lower, upper))):
        out.update(nnt=math.nan, to="neither", text="not estimable")
        return out
    if low > 0:
        out.update(nntb_lower=inv(high), nntb_upper=inv(low))
        out["text"] = f"NNTB {_n(out['nnt'])} ({_n(out['nntb_lower'])} to {_n(out['nntb_upper'])})"
    elif high < 0:
        out.update(nnth_lower=inv(low), nnth_upper=inv(high))
        out["text"] = f"NNTH {_n(out['nnt'])} ({_n(out['nnth_lower'])} to {_n(out['nnth_upper'])})"
    else:
        out.update(nntb_lower=inv(high), nntb_upper=math.inf, nnth_lower=inv(low), nnth_upper=math.inf)
        if reduction == 0 and low == 0 and high == 0:
            out["text"] = "∞ (no difference)"
        else:
            head = {"benefit": "NNTB ", "harm": "NNTH ", "neither": ""}[out["to"]]
            out["text"] = (f"{head}{_n(out['nnt'])} (NNTH {_n(out['nnth_lower'])} to ∞ to NNTB "
                           f"{_n(out['nntb_lower'])})")
    return out


def _n(value: float) -> str:
    if math.isinf(value):
        return "∞"
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"


def harm_table(by_arm: dict[str, pd.DataFrame], z: float) -> pd.DataFrame:
    """Harms and exposure per arm on the paired table: per 1,000 survivors and per 1,000 treated."""
    rows = []
    for arm, data in by_arm.items():
        treated = data["treated"].to_numpy(dtype=bool)
        n = len(data)
        flags = {
            "treated": treated,
            "neutropenia": data["neutropenia"].to_numpy(dtype=bool),
            "viral_rebound": data["viral_rebound"].to_numpy(dtype=bool),
            "clearance_delayed": data["clearance_delay_days"].to_numpy(dtype=float) > 0,
            "ct_false_positive": data["ct_false_positives"].to_numpy(dtype=float) > 0,
        }
        flags["any_harm"] = flags["neutropenia"] | flags["viral_rebound"] | flags["ct_false_positive"]
        for measure, hit in flags.items():
            denominators = [("survivors", np.ones(n, dtype=bool))]
            if measure != "treated":
                denominators.append(("treated", treated))
            for denominator, among in denominators:
                k, m = int(hit[among].sum()), int(among.sum())
                low, high = wilson(k, m, z)
                rows.append({"arm": arm, "measure": measure, "denominator": denominator, "n": m, "count": k,
                             "value": 1000 * k / m if m else math.nan, "lower": 1000 * low, "upper": 1000 * high,
                             "unit": f"per 1,000 {denominator}"})
        for measure in ("doses", "ct_scans", "ct_false_positives"):
            values = data[measure].to_numpy(dtype=float)
            rows.append(_mean_row(arm, measure, "survivors", values, z, 1000.0, "per 1,000 survivors"))
        delay = data["clearance_delay_days"].to_numpy(dtype=float)[treated]
        rows.append(_mean_row(arm, "clearance_delay_days", "treated", delay, z, 1.0, "days (mean among treated)"))
        rows.append(_mean_row(arm, "doses", "treated", data["doses"].to_numpy(dtype=float)[treated], z, 1.0,
                              "doses (mean among treated)"))
    return pd.DataFrame(rows)


def _mean_row(arm: str, measure: str, denominator: str, values: np.ndarray, z: float, scale: float, unit: str
              ) -> dict[str, Any]:
    m = len(values)
    mean = float(values.mean()) if m else math.nan
    se = float(values.std(ddof=1) / math.sqrt(m)) if m > 1 else math.nan
    return {"arm": arm, "measure": measure, "denominator": denominator, "n": m, "count": float(values.sum()),
            "value": scale * mean, "lower": scale * (mean - z * se), "upper": scale * (mean + z * se), "unit": unit}


def wilson(k: int, n: int, z: float) -> tuple[float, float]:
    """Wilson's score interval for a proportion k/n (Wilson 1927)."""
    if n == 0:
        return math.nan, math.nan
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)
