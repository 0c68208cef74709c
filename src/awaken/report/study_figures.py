"""Figures of the study's analyses: the two designs on a cohort, and the power of a planned study.

Example
-------
>>> from awaken.report.study_figures import analyses_figure, power_figure
>>> callable(analyses_figure) and callable(power_figure)
True
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from awaken.studies.flatiron import FlatironResult  # noqa: E402
from awaken.studies.power import PowerResult  # noqa: E402
from awaken.studies.ukb import UKBResult  # noqa: E402

__all__ = ["analyses_figure", "power_figure"]


def analyses_figure(ukb: UKBResult, flatiron: FlatironResult, published: tuple[float, float, float] | None = None) -> Figure:
    """(a) forest plot of the study's two designs on the simulated cohort, (b) Flatiron curves."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), constrained_layout=True, gridspec_kw={"width_ratios": [1.2, 1]})
    ax = axes[0]
    rows = []
    if published is not None:
        rows.append(("UK Biobank, published OR", *published, "#555555"))
    for label, r in ukb.odds_ratios.iterrows():
        rows.append((f"UK Biobank, simulated OR ({label})", r["OR"], r["lower"], r["upper"], "#b2182b"))
    for label, r in ukb.hazard_ratios.iterrows():
        rows.append((f"UK Biobank, HR {label} after positive test", r["HR"], r["lower"], r["upper"], "#ef8a62"))
    for label, r in flatiron.hazard_ratios.iterrows():
        rows.append((f"Flatiron, lung-metastasis HR ({label})", r["HR"], r["lower"], r["upper"], "#2166ac"))
    y = np.arange(len(rows))[::-1]
    for yi, (_label, est, lo, hi, color) in zip(y, rows):
        ax.plot([lo, hi], [yi, yi], color=color, lw=2)
        ax.plot(est, yi, "s", color=color, ms=6)
    ax.axvline(1.0, color="k", lw=0.8, ls=":")
    ax.set_xscale("log")
    ticks = [t for t in (0.25, 0.5, 1, 2, 3, 5, 10, 20) if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_yticks(y, [r[0] for r in rows], fontsize=8)
    ax.set_xlabel("odds ratio or hazard ratio (95% CI, log scale)")
    ax.set_title("a  The study's designs on the simulated cohort", loc="left", fontsize=10)
    ax = axes[1]
    colors = {"exposed": "#b2182b", "matched unexposed": "#2166ac"}
    for group, curve in flatiron.incidence.items():
        ax.step(curve.index, 100 * curve.to_numpy(), where="post", color=colors.get(group, "k"), label=group)
    ax.set_xlabel("months since recorded COVID-19 diagnosis (or the matched date)")
    ax.set_ylabel("cumulative incidence of lung metastasis (%)")
    ax.set_title("b  Flatiron design: exposed vs matched unexposed", loc="left", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    for a in axes:
        a.spines[["top", "right"]].set_visible(False)
    return fig


def power_figure(result: PowerResult) -> Figure:
    """Power against the effect the design sees (mean estimated ratio), with Monte Carlo error bars."""
    curve = result.curve
    fig, ax = plt.subplots(figsize=(6.5, 4.2), constrained_layout=True)
    ax.errorbar(curve.mean_ratio, curve.power, yerr=1.96 * curve.power_se, fmt="o-", color="#b2182b", capsize=3)
    for _, row in curve.iterrows():
        ax.annotate(f"s={row.strength:g}", (row.mean_ratio, row.power), fontsize=7, xytext=(4, -10),
                    textcoords="offset points")
    s = result.settings
    ax.axhline(s.target_power, color="k", lw=0.8, ls=":")
    if result.smallest_detectable is not None:
        ax.axvline(result.smallest_detectable, color="#2166ac", lw=1, ls="--",
                   label=f"smallest detectable {result.ratio_name}: {result.smallest_detectable:.2f}")
        ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.set_xscale("log")
    ticks = [t for t in (0.8, 1, 1.25, 1.5, 2, 3, 4, 6, 8) if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"{result.ratio_name} the design estimates (geometric mean over replicates)")
    ax.set_ylabel(f"power (p < {s.alpha:g}, ratio > 1)")
    ax.set_title(f"{s.design} design, {s.n:,} people, {s.replicates} replicates per effect", loc="left", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def explanations_figure(summary: pd.DataFrame, real_size: Mapping[str, np.ndarray], published: float) -> Figure:
    """Left: how often each combination of mechanisms meets every human target (the ABC evidence).
    Right: the UK Biobank odds ratio at the real study's size under each explanation that can meet them,
    with the published estimate."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1, 1.3]})
    names = list(summary.index)
    left.barh(range(len(names)), summary.acceptance.to_numpy(), color="#4c72b0")
    left.set_yticks(range(len(names)), [n.replace("_", " ") for n in names])
    left.invert_yaxis()
    left.set_xlabel("share of prior draws meeting H1, H2, C5 and P1")
    left.set_xlim(0, 1)
    if real_size:
        labels = list(real_size)
        data = [np.log(v[np.isfinite(v) & (v > 0)]) for v in real_size.values()]
        right.boxplot(data, vert=False, whis=(2.5, 97.5), showfliers=False)
        right.set_yticks(range(1, len(labels) + 1), [n.replace("_", " ") for n in labels])
        right.invert_yaxis()
        right.axvline(np.log(published), color="#c44e52", lw=1.5, label=f"published {published:g}")
        right.axvline(0.0, color="0.6", lw=0.8)
        ticks = [0.5, 1, 1.5, 2, 3, 4]
        right.set_xticks(np.log(ticks), [f"{t:g}" for t in ticks])
        right.set_xlabel("adjusted odds ratio, 4,837 tested survivors (box: 25-75 %, whiskers: 2.5-97.5 %)")
        right.legend(loc="lower right", frameon=False)
    else:
        right.text(0.5, 0.5, "no combination met every target", ha="center", va="center", transform=right.transAxes)
        right.set_axis_off()
    fig.tight_layout()
    return fig
