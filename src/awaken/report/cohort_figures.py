"""Figures of the virtual survivor cohort, with and without the pandemic (same people).

Example
-------
>>> from awaken.report.cohort_figures import ARM_STYLE
>>> sorted(ARM_STYLE)
['no_pandemic', 'pandemic']
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

from awaken.cohort.summary import ARM_LABELS  # noqa: E402

__all__ = ["ARM_STYLE", "infections_figure", "outcomes_figure"]

ARM_STYLE = {"pandemic": ("#b2182b", "-"), "no_pandemic": ("#2166ac", "--")}
_PATHOGEN_COLOR = {"influenza": "#1b9e77", "sars_cov_2": "#d95f02"}


def infections_figure(seasons: Mapping[str, pd.DataFrame]) -> Figure:
    """Infections per 1,000 survivors by season or wave, both arms."""
    fig, ax = plt.subplots(figsize=(9, 3.6), constrained_layout=True)
    for arm, frame in seasons.items():
        for pathogen, group in frame.groupby("pathogen"):
            filled = arm == "pandemic"
            ax.plot(group.date, group.per_1000, "o", ms=6 if filled else 9, mfc=_PATHOGEN_COLOR[pathogen] if filled
                    else "none", mec=_PATHOGEN_COLOR[pathogen], ls="none",
                    label=f"{pathogen.replace('_', '-')} ({ARM_LABELS[arm]})")
    pandemic = seasons.get("pandemic")
    if pandemic is not None:
        for _, row in pandemic[pandemic.pathogen == "sars_cov_2"].iterrows():
            ax.annotate(row.wave, (row.date, row.per_1000), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.set_ylabel("infections per 1,000 survivors")
    ax.set_title("Infections per influenza season and SARS-CoV-2 wave (inside the calendar window)", loc="left",
                 fontsize=10)
    ax.legend(fontsize=7, frameon=False, ncol=2)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def outcomes_figure(incidence: Mapping[str, pd.Series], recurrence: Mapping[str, Mapping[str, pd.Series]],
                    by_site: Mapping[str, pd.DataFrame]) -> Figure:
    """(a) lung metastasis since 2020, (b) recurrence by stage, (c) metastases by site and origin."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), constrained_layout=True)
    ax = axes[0]
    for arm, curve in incidence.items():
        color, ls = ARM_STYLE[arm]
        ax.step(curve.index, 100 * curve.to_numpy(), where="post", color=color, ls=ls, label=ARM_LABELS[arm])
    ax.set_xlabel("years since 1 January 2020")
    ax.set_ylabel("cumulative incidence (%)")
    ax.set_title("a  Lung metastasis (death competing)", loc="left", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    ax = axes[1]
    stage_colors = {"I": "#4daf4a", "II": "#377eb8", "III": "#e41a1c"}
    for arm, curves in recurrence.items():
        _, ls = ARM_STYLE[arm]
        for stage, curve in curves.items():
            ax.step(curve.index, 100 * curve.to_numpy(), where="post", color=stage_colors[stage], ls=ls,
                    label=f"stage {stage}" if arm == "pandemic" else None)
    ax.set_xlabel("years since breast cancer diagnosis")
    ax.set_ylabel("distant recurrence (1 - KM, %)")
    ax.set_title("b  Recurrence by stage (dashed: no pandemic)", loc="left", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    ax = axes[2]
    arms = list(by_site)
    width = 0.38
    for k, arm in enumerate(arms):
        frame = by_site[arm].set_index(["site", "latent_origin"])["metastases"]
        x = np.arange(2) + (k - 0.5) * width
        background = [frame.get((s, "background"), 0) for s in ("lung", "other")]
        infection = [frame.get((s, "infection"), 0) for s in ("lung", "other")]
        color, _ = ARM_STYLE[arm]
        ax.bar(x, background, width, color=color, alpha=0.45, label=f"natural history ({ARM_LABELS[arm]})")
        ax.bar(x, infection, width, bottom=background, color=color, hatch="//", edgecolor="white",
               label=f"awakened by infection ({ARM_LABELS[arm]})")
    ax.set_xticks(range(2), ["lung", "other sites"])
    ax.set_ylim(0, ax.get_ylim()[1] * 1.45)
    ax.set_ylabel("first distant metastases")
    ax.set_title("c  Metastasis by site and origin", loc="left", fontsize=10)
    ax.legend(fontsize=6.5, frameon=False)
    for a in axes:
        a.spines[["top", "right"]].set_visible(False)
    return fig
