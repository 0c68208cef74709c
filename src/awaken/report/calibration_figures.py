"""Figures of a calibration run: multi-start waterfall, profile likelihoods, ensemble marginals.

Example
-------
>>> import pandas as pd
>>> fig = waterfall(pd.DataFrame({"start": ["0", "1"], "cost": [0.05, 2.0]}))
>>> len(fig.axes)
1
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from awaken.report import figures  # noqa: F401 - shared matplotlib style and the Agg backend

__all__ = ["waterfall", "profile_grid", "ensemble_marginals", "RATIO_95"]

#: pyPESTO's profile stop: exp(-chi2_{0.95,1} / 2).
RATIO_95 = math.exp(-3.841458820694124 / 2)


def waterfall(starts: pd.DataFrame) -> Figure:
    """Final cost of every start, sorted (a plateau of equal costs = a reproducibly found optimum)."""
    fig, ax = plt.subplots(figsize=(4.5, 3.0), layout="constrained")
    costs = np.sort(starts["cost"].to_numpy())
    best = costs[0]
    ax.plot(np.arange(1, costs.size + 1), costs - best + 1e-6, "o-", ms=3, lw=0.8, color="#1f77b4")
    ax.set_yscale("log")
    ax.set_xlabel("start (sorted by final cost)")
    ax.set_ylabel("final cost - best cost (+1e-6)")
    ax.set_title(f"{costs.size} starts; best cost {best:.3g}", loc="left")
    return fig


def profile_grid(profiles: pd.DataFrame, names: Sequence[str], bounds: dict[str, tuple[float, float]],
                 best: dict[str, float], classes: dict[str, str]) -> Figure:
    """One panel per parameter: likelihood ratio along its profile, the 95 % threshold and the bounds."""
    n = len(names)
    cols = 4
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(10.5, 1.9 * rows), layout="constrained", squeeze=False)
    for ax, name in zip(axes.flat, names):
        curve = profiles[profiles["parameter"] == name].sort_values("value")
        lo, hi = bounds[name]
        ax.axhline(RATIO_95, color="#b00020", lw=0.7, ls="--")
        ax.axvspan(lo, hi, color="#f2f2f2", zorder=-1)
        if not curve.empty:
            ax.plot(curve["value"], curve["ratio"], color="#1f77b4", lw=1.2)
        ax.axvline(best[name], color="k", lw=0.6)
        margin = 0.03 * (hi - lo)
        ax.set_xlim(lo - margin, hi + margin)
        ax.set_ylim(0, 1.05)
        scale = curve["scale"].iloc[0] if not curve.empty else ""
        ax.set_title(f"{name}\n{classes.get(name, '')}", fontsize=7, loc="left")
        ax.set_xlabel(f"{'log10 ' if scale == 'log10' else ''}value", fontsize=7)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.supylabel("likelihood ratio", fontsize=8)
    return fig


def ensemble_marginals(ensemble: pd.DataFrame, names: Sequence[str], scales: Sequence[str],
                       ranges: dict[str, tuple[float, float]], nominal: dict[str, float]) -> Figure:
    """Each fitted parameter's ensemble spread (5-95 % and median) inside its plausible range
    (grey), with the shipped value (black tick); normalised so every range spans 0-1."""
    fig, ax = plt.subplots(figsize=(6.5, 0.22 * len(names) + 1.0), layout="constrained")
    for i, (name, scale) in enumerate(zip(names, scales)):
        lo, hi = ranges[name]
        f = (lambda v, lo=lo, hi=hi: (np.log10(v) - np.log10(lo)) / (np.log10(hi) - np.log10(lo))) if scale == "log10" \
            else (lambda v, lo=lo, hi=hi: (np.asarray(v) - lo) / (hi - lo))
        values = f(ensemble[name].to_numpy())
        q05, q50, q95 = np.quantile(values, [0.05, 0.5, 0.95])
        ax.plot([0, 1], [i, i], color="#dddddd", lw=5, solid_capstyle="butt")
        ax.plot([q05, q95], [i, i], color="#1f77b4", lw=3, solid_capstyle="butt")
        ax.plot([q50], [i], "o", color="#1f77b4", ms=3)
        ax.plot([f(nominal[name])], [i], "|", color="k", ms=8)
    ax.set_yticks(range(len(names)), [f"{n} ({s})" for n, s in zip(names, scales)], fontsize=6.5)
    ax.invert_yaxis()
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("position in the plausible range (0 = lower bound, 1 = upper bound; log10 or linear scale)")
    return fig
