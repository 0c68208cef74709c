"""Figures of the lung experiments, styled for a paper (matplotlib, no screen needed).

Each function takes experiment results (``{name: ExperimentResult}``) and returns a Figure. Lines
are group means; shaded bands span the individual mice (min-max); box plots show the mice at the
study's read-out days (3, 6, 9, 15 and 28 dpi, as in Chia et al. 2025, Fig. 1). Given the
calibration ensemble's bands (:func:`awaken.calibration.ensemble.bands`), dashed lines mark the
central 90 % of the typical mouse over the ensemble: the uncertainty of the calibration, as
opposed to the shaded spread between mice.

Example
-------
>>> import awaken
>>> from awaken.report.figures import experiment_overview
>>> fig = experiment_overview(awaken.run_experiment("pbs", days=30, mice=2))
>>> len(fig.axes)
4
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from awaken.calibration.ensemble import Band  # noqa: E402
from awaken.experiments.results import ExperimentResult  # noqa: E402

__all__ = ["READOUT_DAYS", "dcc_burden", "phenotypes", "inflammation", "t_cells", "experiment_overview", "STYLE"]

#: The study's read-out days (dpi).
READOUT_DAYS = (3, 6, 9, 15, 28)

STYLE: dict[str, tuple[str, str]] = {  # experiment -> (colour, label)
    "pbs": ("#7f7f7f", "PBS"),
    "influenza": ("#d62728", "Influenza A (PR8)"),
    "sars_cov_2": ("#9467bd", "SARS-CoV-2 (MA10)"),
    "il6_ko_pbs": ("#bcbd22", "IL-6 KO + PBS"),
    "il6_ko_influenza": ("#17becf", "IL-6 KO + influenza"),
    "neutrophil_depleted_influenza": ("#2ca02c", "anti-Ly6G + influenza"),
    "igg_influenza": ("#ff7f0e", "IgG + influenza"),
    "anti_cd4_influenza": ("#1f77b4", "anti-CD4 (9 dpi) + influenza"),
    "anti_cd8_influenza": ("#8c564b", "anti-CD8 (9 dpi) + influenza"),
    "anti_cd4_from_infection_influenza": ("#aec7e8", "anti-CD4 (0 dpi) + influenza"),
    "wild_type_influenza": ("#e377c2", "wild type + influenza"),
}

plt.rcParams.update({
    "font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "legend.fontsize": 7, "axes.spines.top": False,
    "axes.spines.right": False, "svg.fonttype": "none", "svg.hashsalt": "awaken",
})


def _style(name: str, index: int = 0) -> tuple[str, str]:
    if name in STYLE:
        return STYLE[name]
    return (plt.get_cmap("tab10")(index % 10), name)


def _band(ensemble: Mapping[tuple[str, str], Band] | None, name: str, column: str) -> Band | None:
    return None if ensemble is None else ensemble.get((name, column))


def _curve(ax: Axes, result: ExperimentResult, column: str, days: float, color: str, label: str,
           floor: float | None = None, band: Band | None = None) -> None:
    """Group mean (line) and mice (shaded, min-max); with ``band``, the calibration ensemble's
    central 90 % for the typical mouse (dashed edges)."""
    frame = result.per_mouse[result.per_mouse["day"] <= days]
    stats = frame.groupby("day")[column].agg(["mean", "min", "max"])
    x = stats.index.to_numpy()
    mean, lo, hi = (stats[c].to_numpy() for c in ("mean", "min", "max"))
    if floor is not None:
        mean, lo, hi = (np.maximum(v, floor) for v in (mean, lo, hi))
    ax.plot(x, mean, color=color, lw=1.4, label=label)
    if result.per_mouse["mouse"].nunique() > 1:
        ax.fill_between(x, lo, hi, color=color, alpha=0.18, lw=0)
    if band is not None:
        keep = band.days <= days
        for edge in (band.low, band.high):
            values = edge[keep] if floor is None else np.maximum(edge[keep], floor)
            ax.plot(band.days[keep], values, color=color, lw=0.7, ls=(0, (3, 2)), alpha=0.9)


def _boxes(ax: Axes, results: Sequence[ExperimentResult], colors: Sequence[str], column: str) -> None:
    n = len(results)
    width = 1.6 / max(n, 1)
    for i, (result, color) in enumerate(zip(results, colors)):
        offset = (i - (n - 1) / 2) * width
        data, positions = [], []
        for day in READOUT_DAYS:
            if day <= result.experiment.days:
                data.append(result.values_at(day, column))
                positions.append(day + offset)
        if not data:
            continue
        ax.boxplot(data, positions=positions, widths=width * 0.85, patch_artist=True, manage_ticks=False,
                   showfliers=False, boxprops=dict(facecolor=color, alpha=0.45, edgecolor=color, lw=0.8),
                   medianprops=dict(color=color, lw=1.2), whiskerprops=dict(color=color, lw=0.8),
                   capprops=dict(color=color, lw=0.8))
        for pos, values in zip(positions, data):
            ax.scatter(np.full(values.shape, pos), values, s=4, color=color, zorder=3, lw=0)


def _present(results: Mapping[str, ExperimentResult], names: Sequence[str]) -> list[str]:
    return [n for n in names if n in results]


def dcc_burden(results: Mapping[str, ExperimentResult],
               ensemble: Mapping[tuple[str, str], Band] | None = None) -> Figure:
    """HER2+ DCC count per three lung sections, log scale: the study's Figure 1, for every group."""
    panels = [
        ("a  Infection", ["pbs", "influenza", "sars_cov_2"]),
        ("b  IL-6 knockout", ["il6_ko_pbs", "il6_ko_influenza", "influenza"]),
        ("c  Neutrophil depletion", ["pbs", "neutrophil_depleted_influenza", "influenza"]),
        ("d  T-cell depletion from 9 dpi", ["igg_influenza", "anti_cd4_influenza", "anti_cd8_influenza"]),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(10.5, 6.2), layout="constrained")
    flat = [axes[0, 0], axes[0, 1], axes[1, 0], axes[1, 1]]
    for ax, (title, names) in zip(flat, panels):
        names = _present(results, names)
        colors = [_style(n, i)[0] for i, n in enumerate(names)]
        for name, color in zip(names, colors):
            _curve(ax, results[name], "dcc_count", 30, color, _style(name)[1], floor=0.1,
                   band=_band(ensemble, name, "dcc_count"))
        _boxes(ax, [results[n] for n in names], colors, "dcc_count")
        ax.set_yscale("log")
        ax.set_xlim(-1, 30)
        ax.set_xticks([0, *READOUT_DAYS])
        ax.set_title(title, loc="left")
        ax.set_xlabel("days post infection")
        ax.set_ylabel("HER2+ DCCs per 3 lung sections")
        ax.legend(frameon=False, loc="upper left")
    long_ax = axes[0, 2]
    for i, (name, result) in enumerate(results.items()):
        if result.per_mouse["dcc_count"].max() == 0:  # wild-type mice carry no DCCs
            continue
        color, label = _style(name, i)
        _curve(long_ax, result, "dcc_count", result.experiment.days, color, label, floor=0.1,
               band=_band(ensemble, name, "dcc_count"))
    long_ax.set_yscale("log")
    long_ax.set_title("e  One year", loc="left")
    long_ax.set_xlabel("days post infection")
    long_ax.set_ylabel("HER2+ DCCs per 3 lung sections")
    handles, labels = long_ax.get_legend_handles_labels()
    axes[1, 2].axis("off")
    axes[1, 2].legend(handles, labels, frameon=False, loc="center left",
                      title="groups (mean; band = mice" + ("; dashed = ensemble 90 %)" if ensemble else ")"))
    return fig


def phenotypes(results: Mapping[str, ExperimentResult],
               ensemble: Mapping[tuple[str, str], Band] | None = None) -> Figure:
    """Proliferating (Ki67+) fraction and the dormant -> hybrid -> proliferating composition."""
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.0), layout="constrained")
    ax = axes[0]
    for i, name in enumerate(_present(results, ["pbs", "influenza", "sars_cov_2", "il6_ko_influenza",
                                                "neutrophil_depleted_influenza"])):
        color, label = _style(name, i)
        _curve(ax, results[name], "proliferating_fraction", 30, color, label,
               band=_band(ensemble, name, "proliferating_fraction"))
    ax.set_title("a  Proliferating (Ki67+) fraction of DCCs", loc="left")
    ax.set_xlabel("days post infection")
    ax.set_ylabel("fraction in cycle")
    ax.set_xticks([0, *READOUT_DAYS])
    ax.legend(frameon=False)
    for ax, name, title in ((axes[1], "influenza", "b  Phenotypes, influenza"),
                            (axes[2], "il6_ko_influenza", "c  Phenotypes, IL-6 KO + influenza")):
        if name not in results:
            ax.axis("off")
            continue
        tc = results[name].timecourse
        tc = tc[tc["day"] <= 60]
        ax.stackplot(tc["day"], tc["mesenchymal_fraction"], tc["hybrid_fraction"], tc["epithelial_fraction"],
                     colors=["#9ecae1", "#fdae6b", "#d62728"], alpha=0.85,
                     labels=["dormant mesenchymal (vimentin+)", "hybrid E/M", "proliferating epithelial"])
        ax.set_ylim(0, 1)
        ax.set_xlim(0, 60)
        ax.set_title(title, loc="left")
        ax.set_xlabel("days post infection")
        ax.set_ylabel("fraction of DCCs")
    axes[1].legend(frameon=False, loc="lower right")
    return fig


def inflammation(results: Mapping[str, ExperimentResult],
                 ensemble: Mapping[tuple[str, str], Band] | None = None) -> Figure:
    """Virus, lavage IL-6 and lung neutrophils."""
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.0), layout="constrained")
    panels = (
        (axes[0], "virus_titer", "a  Lung virus titre", "infectious units / mL", ["influenza", "sars_cov_2",
                                                                                  "wild_type_influenza"], True),
        (axes[1], "il6_pg_per_ml", "b  IL-6 in lavage fluid", "pg / mL", ["pbs", "influenza", "sars_cov_2",
                                                                          "il6_ko_influenza"], False),
        (axes[2], "neutrophils", "c  Lung neutrophils", "cells", ["pbs", "influenza",
                                                                 "neutrophil_depleted_influenza"], True),
    )
    for ax, column, title, ylabel, names, log in panels:
        for i, name in enumerate(_present(results, names)):
            color, label = _style(name, i)
            _curve(ax, results[name], column, 21, color, label, floor=1.0 if log else None,
                   band=_band(ensemble, name, column))
        if log:
            ax.set_yscale("log")
        ax.set_title(title, loc="left")
        ax.set_xlabel("days post infection")
        ax.set_ylabel(ylabel)
        ax.legend(frameon=False)
    axes[0].axhline(10, color="k", lw=0.6, ls=":")
    return fig


def t_cells(results: Mapping[str, ExperimentResult],
            ensemble: Mapping[tuple[str, str], Band] | None = None) -> Figure:
    """CD4 T cells (all, and in lesion aggregates) and activated CD8 T cells."""
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.0), layout="constrained")
    # IgG is drawn last: for CD4 cells it coincides with anti-CD8 and would otherwise be hidden.
    names = _present(results, ["pbs", "anti_cd8_influenza", "anti_cd4_influenza", "igg_influenza"])
    for ax, column, title in ((axes[0], "cd4_t_cells", "a  CD4 T cells in the lung"),
                              (axes[1], "cd4_aggregate_t_cells", "b  CD4 T cells in lesion aggregates"),
                              (axes[2], "cd8_t_cells_active", "c  Activated CD8 T cells")):
        for i, name in enumerate(names):
            color, label = _style(name, i)
            _curve(ax, results[name], column, 40, color, label, floor=1.0, band=_band(ensemble, name, column))
        ax.set_yscale("log")
        ax.axvspan(9, 28, color="k", alpha=0.05, lw=0)
        ax.set_title(title, loc="left")
        ax.set_xlabel("days post infection")
        ax.set_ylabel("cells")
    axes[2].legend(frameon=False)
    return fig


def experiment_overview(result: ExperimentResult) -> Figure:
    """Four panels of one experiment: DCC count, DCC phenotypes, virus and IL-6, T cells."""
    fig, axes = plt.subplots(2, 2, figsize=(8.0, 5.6), layout="constrained")
    days = min(result.experiment.days, 60)
    color = _style(result.name)[0] if result.name in STYLE else "#d62728"
    ax = axes[0, 0]
    _curve(ax, result, "dcc_count", result.experiment.days, color, "mean (band: mice)", floor=0.1)
    _boxes(ax, [result], [color], "dcc_count")
    ax.set_yscale("log")
    ax.set_title("a  HER2+ DCCs per 3 lung sections", loc="left")
    ax.legend(frameon=False)
    ax = axes[0, 1]
    for column, c in (("mesenchymal_fraction", "#9ecae1"), ("hybrid_fraction", "#fdae6b"),
                      ("epithelial_fraction", "#d62728"), ("proliferating_fraction", "k")):
        _curve(ax, result, column, days, c, column.replace("_", " "))
    ax.set_ylim(0, 1)
    ax.set_title("b  DCC phenotypes", loc="left")
    ax.legend(frameon=False)
    ax = axes[1, 0]
    _curve(ax, result, "virus_titer", days, "#d62728", "virus (infectious units/mL)", floor=1.0)
    _curve(ax, result, "il6_pg_per_ml", days, "#2ca02c", "IL-6 (pg/mL)", floor=1.0)
    ax.set_yscale("log")
    ax.set_title("c  Virus and IL-6", loc="left")
    ax.legend(frameon=False)
    ax = axes[1, 1]
    for column, c in (("cd4_t_cells", "#1f77b4"), ("cd4_aggregate_t_cells", "#aec7e8"),
                      ("cd8_t_cells_active", "#8c564b"), ("neutrophils", "#2ca02c")):
        _curve(ax, result, column, days, c, column.replace("_", " "), floor=1.0)
    ax.set_yscale("log")
    ax.set_title("d  Immune cells", loc="left")
    ax.legend(frameon=False)
    for ax in axes.flat:
        ax.set_xlabel("days post infection")
    fig.suptitle(f"{result.name}: {result.per_mouse['mouse'].nunique()} mice, seed {result.experiment.seed}", fontsize=9)
    return fig
