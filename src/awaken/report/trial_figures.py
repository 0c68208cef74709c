"""Figures of an in-silico trial: forest plot, cumulative incidence, harms against benefit, sample size,
and the mouse window of opportunity.

Each drawing function takes the tidy tables of :mod:`awaken.trials.outcomes` / :mod:`awaken.trials.sample_size`
(or the window-of-opportunity table) and returns ``(figure, data)``: the figure and exactly the rows
it draws, so that :func:`save_trial_figure` writes ``<stem>.png``, ``<stem>.svg`` and
``<stem>.parquet`` side by side and every point of a figure can be read back. :func:`trial_figures`
draws and saves the whole trial section and returns the report's figures.

Example
-------
>>> from awaken.report.trial_figures import WINDOW_COLUMNS
>>> WINDOW_COLUMNS[:3]
('drug', 'start_day', 'read_day')
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from awaken.errors import InputError, Problem  # noqa: E402
from awaken.report.html import ReportFigure  # noqa: E402
from awaken.runs.directory import RunDirectory  # noqa: E402
from awaken.trials.outcomes import TrialOutcomes  # noqa: E402
from awaken.trials.sample_size import SampleSize  # noqa: E402

__all__ = [
    "WINDOW_COLUMNS", "forest_figure", "harms_benefit_figure", "incidence_figure", "sample_size_figure",
    "save_trial_figure", "trial_figures", "window_figure",
]

#: Columns of the window-of-opportunity table (the mouse trials: effect on DCC burden by start day).
WINDOW_COLUMNS = ("drug", "start_day", "read_day", "effect", "mouse_low", "mouse_high", "ensemble_low",
                  "ensemble_high")
_CONTROL_COLOR = "#444444"
_PALETTE = ("#b2182b", "#2166ac", "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#a6761d")
_MARKERS = ("o", "s", "D", "^", "v", "P", "X")
_ENDPOINT_LABELS = {"lung_metastasis": "lung metastasis", "cancer_death": "cancer death",
                    "covid_death": "COVID-19 death", "death": "death from any cause"}


def _arm_colors(arms: Sequence[str], control: str | None) -> dict[str, str]:
    others = [a for a in arms if a != control]
    colors = {a: _PALETTE[i % len(_PALETTE)] for i, a in enumerate(others)}
    if control is not None:
        colors[control] = _CONTROL_COLOR
    return colors


#: How names read in a figure (anything else: underscores become spaces).
_NAMES = {"mr16_1": "MR16-1 (anti-IL-6R)", "anti_cd4": "anti-CD4", "oseltamivir": "oseltamivir",
          "nirmatrelvir_ritonavir": "nirmatrelvir/ritonavir", "non_causal": "non-causal"}


def _label(name: str) -> str:
    return _NAMES.get(str(name), str(name).replace("_", " "))


def _horizon(effects: pd.DataFrame, horizon_day: float | None) -> float:
    days = sorted(effects["horizon_day"].unique())
    if horizon_day is None:
        return float(days[-1])
    if not any(np.isclose(horizon_day, days)):
        raise InputError.field("horizon_day", f"is not a horizon of the analysis; horizons: {days}", horizon_day)
    return float(days[int(np.argmin(np.abs(np.asarray(days) - horizon_day)))])


def _endpoint_rows(table: pd.DataFrame, endpoint: str, name: str) -> pd.DataFrame:
    rows = table[table["endpoint"] == endpoint]
    if rows.empty:
        raise InputError.field("endpoint", f"has no rows in the {name} table; endpoints: "
                               f"{sorted(table['endpoint'].unique())}", endpoint)
    return rows


def _tidy(ax) -> None:
    ax.spines[["top", "right"]].set_visible(False)


# ---------------------------------------------------------------------------- forest plot
def forest_figure(effects: pd.DataFrame, endpoint: str = "lung_metastasis", horizon_day: float | None = None
                  ) -> tuple[Figure, pd.DataFrame]:
    """(a) hazard ratio of each arm vs control (trial view, Cox) and (b) risk difference by the horizon,
    paired (the counterfactual truth, filled) and as the trial sees it (open), one row per
    explanation and arm, with 95 % intervals."""
    rows = _endpoint_rows(effects, endpoint, "effects")
    horizon = _horizon(rows, horizon_day)
    data = rows[np.isclose(rows["horizon_day"], horizon)].reset_index(drop=True)
    explanations = list(dict.fromkeys(data["explanation"]))
    arms = list(dict.fromkeys(data["arm"]))
    colors = _arm_colors(arms, None)
    order = [(e, a) for e in explanations for a in arms if ((data["explanation"] == e) & (data["arm"] == a)).any()]
    height = 1.2 + 0.32 * len(order) + 0.25 * len(explanations)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, height), sharey=True, constrained_layout=True)
    y, ticks, labels = 0.0, [], []
    positions = {}
    for e in explanations:
        for a in arms:
            if (e, a) in order:
                positions[(e, a)] = y
                ticks.append(y)
                labels.append(f"{_label(e)}: {_label(a)}")
                y -= 1.0
        y -= 0.6
    for (e, a), yi in positions.items():
        r = data[(data["explanation"] == e) & (data["arm"] == a)].iloc[0]
        color = colors[a]
        if np.isfinite(r["hr"]):
            left.plot([r["hr_lower"], r["hr_upper"]], [yi, yi], color=color, lw=2)
            left.plot(r["hr"], yi, "s", color=color, ms=6)
        right.plot(100 * np.array([r["rd_paired_lower"], r["rd_paired_upper"]]), [yi + 0.12] * 2, color=color, lw=2)
        right.plot(100 * r["rd_paired"], yi + 0.12, "o", color=color, ms=6)
        right.plot(100 * np.array([r["rd_trial_lower"], r["rd_trial_upper"]]), [yi - 0.12] * 2, color=color, lw=1,
                   ls="--")
        right.plot(100 * r["rd_trial"], yi - 0.12, "o", mfc="white", mec=color, ms=6)
    left.axvline(1.0, color="k", lw=0.8, ls=":")
    left.set_xscale("log")
    lo, hi = left.get_xlim()
    shown = [t for t in (0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5) if lo <= t <= hi]
    left.set_xticks(shown, [f"{t:g}" for t in shown])
    left.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    left.set_yticks(ticks, labels, fontsize=8)
    left.set_xlabel("hazard ratio vs control (95% CI, log scale)")
    left.set_title(f"a  Cause-specific hazard ratio, {_ENDPOINT_LABELS.get(endpoint, endpoint)}", loc="left",
                   fontsize=10)
    right.axvline(0.0, color="k", lw=0.8, ls=":")
    right.set_xlabel(f"risk difference by day {horizon:g} ({horizon / 365.25:.1f} years; percentage points, 95% CI)")
    right.set_title("b  Risk difference: paired (filled) and as the trial sees it (open)", loc="left", fontsize=10)
    for ax in (left, right):
        _tidy(ax)
    columns = ["explanation", "arm", "endpoint", "horizon_day", "hr", "hr_lower", "hr_upper", "hr_p", "rd_paired",
               "rd_paired_lower", "rd_paired_upper", "rd_trial", "rd_trial_lower", "rd_trial_upper"]
    return fig, data[columns]


# ---------------------------------------------------------------------------- cumulative incidence
def incidence_figure(incidence: pd.DataFrame, endpoint: str = "lung_metastasis", view: str = "trial",
                     control: str | None = None) -> tuple[Figure, pd.DataFrame]:
    """Cumulative incidence of ``endpoint`` per arm over follow-up, one panel per explanation, with
    pointwise 95 % bands; ``view`` "trial" (allocated survivors) or "paired" (every survivor)."""
    rows = _endpoint_rows(incidence, endpoint, "incidence")
    if view not in set(rows["view"]):
        raise InputError.field("view", f"must be one of {sorted(set(rows['view']))}", view)
    data = rows[rows["view"] == view].reset_index(drop=True)
    explanations = list(dict.fromkeys(data["explanation"]))
    arms = list(dict.fromkeys(data["arm"]))
    colors = _arm_colors(arms, control if control is not None else arms[0])
    fig, axes = plt.subplots(1, len(explanations), figsize=(4.2 * len(explanations) + 0.6, 3.6), sharey=True,
                             constrained_layout=True, squeeze=False)
    years = 365.25
    for ax, e in zip(axes[0], explanations):
        for a in arms:
            curve = data[(data["explanation"] == e) & (data["arm"] == a)]
            if curve.empty:
                continue
            t = curve["day"].to_numpy() / years
            ax.fill_between(t, 100 * curve["lower"], 100 * curve["upper"], step="post", color=colors[a], alpha=0.15,
                            lw=0)
            ax.step(t, 100 * curve["risk"], where="post", color=colors[a], label=_label(a))
        ax.set_title(f"{_label(e)}", loc="left", fontsize=10)
        ax.set_xlabel("years since randomisation")
        _tidy(ax)
    axes[0][0].set_ylabel(f"cumulative incidence of {_ENDPOINT_LABELS.get(endpoint, endpoint)} (%)")
    axes[0][-1].legend(fontsize=8, frameon=False)
    estimator = "1 - Kaplan-Meier" if endpoint == "death" else "Aalen-Johansen, other deaths competing"
    fig.suptitle(f"{_ENDPOINT_LABELS.get(endpoint, endpoint).capitalize()} by arm ({view} view; {estimator})",
                 x=0.01, ha="left", fontsize=10)
    return fig, data


# ---------------------------------------------------------------------------- harms against benefit
def harms_benefit_figure(effects: pd.DataFrame, harms: pd.DataFrame, endpoint: str = "lung_metastasis",
                         harm: str = "any_harm", horizon_day: float | None = None, view: str = "paired"
                         ) -> tuple[Figure, pd.DataFrame]:
    """Per arm and explanation: events prevented per 1,000 survivors (minus the risk difference) against
    the harm per 1,000 survivors of the arm, with 95 % intervals both ways."""
    rows = _endpoint_rows(effects, endpoint, "effects")
    horizon = _horizon(rows, horizon_day)
    if view not in ("paired", "trial"):
        raise InputError.field("view", "must be 'paired' or 'trial'", view)
    chosen = harms[(harms["measure"] == harm) & (harms["denominator"] == "survivors")]
    if chosen.empty:
        raise InputError.field("harm", f"is not a harm measure; measures: {sorted(harms['measure'].unique())}", harm)
    benefit = rows[np.isclose(rows["horizon_day"], horizon)][
        ["explanation", "arm", f"rd_{view}", f"rd_{view}_lower", f"rd_{view}_upper"]]
    benefit = benefit.assign(prevented_per_1000=-1000 * benefit[f"rd_{view}"],
                             prevented_lower=-1000 * benefit[f"rd_{view}_upper"],
                             prevented_upper=-1000 * benefit[f"rd_{view}_lower"])
    data = benefit.merge(chosen[["explanation", "arm", "value", "lower", "upper"]].rename(
        columns={"value": "harm_per_1000", "lower": "harm_lower", "upper": "harm_upper"}), on=["explanation", "arm"])
    data = data.assign(endpoint=endpoint, horizon_day=horizon, harm=harm, view=view)[
        ["explanation", "arm", "endpoint", "horizon_day", "view", "prevented_per_1000", "prevented_lower",
         "prevented_upper", "harm", "harm_per_1000", "harm_lower", "harm_upper"]]
    arms = list(dict.fromkeys(data["arm"]))
    colors = _arm_colors(arms, None)
    markers = {e: _MARKERS[i % len(_MARKERS)] for i, e in enumerate(dict.fromkeys(data["explanation"]))}
    fig, ax = plt.subplots(figsize=(6.8, 4.6), constrained_layout=True)
    for _, r in data.iterrows():
        ax.errorbar(r["harm_per_1000"], r["prevented_per_1000"],
                    # (bounds can sit a rounding error inside the estimate: clipped at 0)
                    xerr=[[max(r["harm_per_1000"] - r["harm_lower"], 0.0)],
                          [max(r["harm_upper"] - r["harm_per_1000"], 0.0)]],
                    yerr=[[max(r["prevented_per_1000"] - r["prevented_lower"], 0.0)],
                          [max(r["prevented_upper"] - r["prevented_per_1000"], 0.0)]],
                    fmt=markers[r["explanation"]], color=colors[r["arm"]], ms=7, capsize=2, lw=1)
    lim = max(1.0, float(np.nanmax(np.abs(data[["harm_upper", "prevented_upper"]].to_numpy(dtype=float)))))
    ax.plot([0, lim], [0, lim], color="0.6", lw=0.8, ls="--", label="as many harmed as spared")
    ax.axhline(0, color="k", lw=0.8, ls=":")
    handles = [plt.Line2D([], [], color=colors[a], marker="o", ls="none", label=_label(a)) for a in arms]
    handles += [plt.Line2D([], [], color="0.3", marker=m, ls="none", label=_label(e)) for e, m in markers.items()]
    handles.append(plt.Line2D([], [], color="0.6", ls="--", label="as many harmed as spared"))
    ax.legend(handles=handles, fontsize=7, frameon=False, loc="best")
    ax.set_xlabel(f"{_label(harm)} per 1,000 survivors of the arm (95% CI)")
    ax.set_ylabel(f"{_ENDPOINT_LABELS.get(endpoint, endpoint)} prevented per 1,000\nby day {horizon:g} "
                  f"({horizon / 365.25:.1f} years)")
    ax.set_title(f"Harms against benefit ({view} view)", loc="left", fontsize=10)
    _tidy(ax)
    return fig, data


# ---------------------------------------------------------------------------- sample size
def sample_size_figure(curve: pd.DataFrame, target_power: float = 0.8) -> tuple[Figure, pd.DataFrame]:
    """Power against participants per arm, per explanation and arm: Schoenfeld's formula (lines) and the
    bootstrap trials (points, 95 % Monte Carlo intervals)."""
    flat = np.isclose(curve["hazard_ratio"].to_numpy(dtype=float), 1.0) | ~np.isfinite(curve["hazard_ratio"])
    skipped = sorted({f"{_label(e)}, {_label(a)}" for e, a in curve.loc[flat, ["explanation", "arm"]].to_numpy()})
    data = curve[~flat].reset_index(drop=True)
    keys = list(dict.fromkeys(zip(data["explanation"], data["arm"], data["source"])))
    explanations = list(dict.fromkeys(data["explanation"]))
    markers = {e: _MARKERS[i % len(_MARKERS)] for i, e in enumerate(explanations)}
    colors = {k: _PALETTE[i % len(_PALETTE)] for i, k in enumerate(keys)}
    fig, ax = plt.subplots(figsize=(7.2, 4.4), constrained_layout=True)
    for key in keys:
        e, a, source = key
        part = data[(data["explanation"] == e) & (data["arm"] == a) & (data["source"] == source)].sort_values("n_per_arm")
        hr = part["hazard_ratio"].iloc[0]
        simulated = source == "simulated"
        ax.plot(part["n_per_arm"], part["power_formula"], color=colors[key], ls="-" if simulated else ":",
                label=f"{_label(e)}, {_label(a)} (HR {hr:.2f}{'' if simulated else ', assumed'})")
        done = part[part["replicates"] > 0]
        if not done.empty:
            ax.errorbar(done["n_per_arm"], done["power_simulation"], yerr=1.96 * done["power_simulation_se"],
                        fmt=markers[e], color=colors[key], capsize=3, ms=6)
    ax.axhline(target_power, color="k", lw=0.8, ls=":")
    if skipped:
        ax.text(0.01, 0.99, "no effect to detect (HR 1): " + "; ".join(skipped), transform=ax.transAxes, fontsize=7,
                va="top", color="0.35", wrap=True)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("participants per arm (control arm; log scale)")
    ax.set_ylabel("power (two-sided Cox test)")
    ax.set_title("Sample size: Schoenfeld's formula (lines) and bootstrap trials (points)", loc="left", fontsize=10)
    if ax.get_legend_handles_labels()[0]:  # (every arm may be without an effect to detect)
        ax.legend(fontsize=7, frameon=False, loc="lower right")
    _tidy(ax)
    return fig, data


# ---------------------------------------------------------------------------- window of opportunity
def window_figure(window: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """The mouse window of opportunity: effect on DCC burden (treated / untreated) against the day
    treatment starts, one panel per read-out day, per drug; the ensemble's uncertainty as a band and
    the spread of the mice as error bars."""
    if not isinstance(window, pd.DataFrame):
        raise InputError.field("window", f"must be a DataFrame, got {type(window).__name__}")
    missing = [c for c in WINDOW_COLUMNS if c not in window.columns]
    if missing:
        raise InputError([Problem(f"window.{c}", "missing column (the window-of-opportunity table needs it)")
                          for c in missing])
    if window.empty:
        raise InputError.field("window", "has no rows")
    data = window[list(WINDOW_COLUMNS)].sort_values(["read_day", "drug", "start_day"]).reset_index(drop=True)
    ratios = data[["effect", "mouse_low", "mouse_high", "ensemble_low", "ensemble_high"]].to_numpy(dtype=float)
    if not (ratios > 0).all():
        raise InputError.field("window.effect", "ratios of DCC burden (effect and its bounds) must be positive")
    days = sorted(data["read_day"].unique())
    drugs = list(dict.fromkeys(data["drug"]))
    colors = {d: _PALETTE[i % len(_PALETTE)] for i, d in enumerate(drugs)}
    fig, axes = plt.subplots(1, len(days), figsize=(3.8 * len(days) + 0.6, 3.6), sharey=True,
                             constrained_layout=True, squeeze=False)
    for ax, day in zip(axes[0], days):
        for drug in drugs:
            part = data[(data["read_day"] == day) & (data["drug"] == drug)]
            if part.empty:
                continue
            x = part["start_day"].to_numpy(dtype=float)
            ax.fill_between(x, part["ensemble_low"], part["ensemble_high"], color=colors[drug], alpha=0.2, lw=0)
            # the mice's spread is of each mouse's own ratio; the group ratio need not lie inside it
            ax.vlines(x, part["mouse_low"], part["mouse_high"], color=colors[drug], lw=1.0)
            ax.plot(x, part["effect"], "o-", color=colors[drug], ms=4, lw=1.2, label=_label(drug))
        ax.axhline(1.0, color="k", lw=0.8, ls=":")
        ax.set_yscale("log")
        ax.set_title(f"DCC burden at {day:g} dpi", loc="left", fontsize=10)
        ax.set_xlabel("treatment start (days post infection)")
        _tidy(ax)
    low, high = axes[0][0].get_ylim()
    ticks = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5)
    if high / low > 300:  # more than two and a half decades: decades and their halves only
        ticks = (0.0001, 0.001, 0.01, 0.1, 0.3, 1, 3, 10, 30)
    shown = [t for t in ticks if low <= t <= high]
    for ax in axes[0]:
        ax.set_yticks(shown, [f"{t:g}" for t in shown])
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes[0][0].set_ylabel("DCC burden, treated / untreated (log scale)")
    axes[0][-1].legend(fontsize=8, frameon=False)
    fig.suptitle("Window of opportunity (band: ensemble uncertainty; bars: spread of the mice)", x=0.01, ha="left",
                 fontsize=10)
    return fig, data


# ---------------------------------------------------------------------------- saving
def save_trial_figure(target: RunDirectory | str | Path, stem: str, figure: Figure, data: pd.DataFrame
                      ) -> dict[str, Path]:
    """Save ``figure`` as PNG (200 dpi) and SVG with ``data`` as Parquet beside it, then close it.

    ``target`` is a :class:`~awaken.runs.directory.RunDirectory` (files go to its ``figures/``) or a
    plain directory. Returns the paths by extension (``png``, ``svg``, ``parquet``).
    """
    try:
        if isinstance(target, RunDirectory):
            paths = target.save_figure(stem, figure)
            paths["parquet"] = target.write_parquet(f"figures/{stem}.parquet", data)
            return paths
        folder = Path(target)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for ext, kwargs in (("png", {"dpi": 200}), ("svg", {"metadata": {"Date": None}})):
            paths[ext] = folder / f"{stem}.{ext}"
            figure.savefig(paths[ext], format=ext, bbox_inches="tight", **kwargs)
        paths["parquet"] = folder / f"{stem}.parquet"
        data.to_parquet(paths["parquet"], engine="pyarrow", index=False)
        return paths
    finally:
        plt.close(figure)


def trial_figures(target: RunDirectory | str | Path, outcomes: TrialOutcomes, sample_size: SampleSize | None = None,
                  window: pd.DataFrame | None = None, endpoint: str = "lung_metastasis", harm: str = "any_harm"
                  ) -> list[ReportFigure]:
    """Draw and save the trial section's figures; return them for the report.

    Stems: ``trial_forest_<endpoint>`` and ``trial_incidence_<endpoint>`` for each endpoint analysed,
    ``trial_harms_benefit`` (for ``endpoint`` and ``harm``), ``trial_sample_size`` (with ``sample_size``)
    and ``trial_window`` (with ``window``).
    """
    specs: list[tuple[str, str, str, Any]] = []
    for name in outcomes.endpoints:
        specs.append((f"trial_forest_{name}", f"Arms compared: {_ENDPOINT_LABELS.get(name, name)}",
                      "Hazard ratio of each arm against the control (cause-specific Cox, survivors as allocated) and "
                      "risk difference by the end of follow-up: paired (every survivor under every arm, the "
                      "counterfactual truth) and as a real trial of the same survivors would see it, per explanation "
                      "of the human excess.", forest_figure(outcomes.effects, name)))
    for name in outcomes.endpoints:
        specs.append((f"trial_incidence_{name}", f"Cumulative incidence of {_ENDPOINT_LABELS.get(name, name)}",
                      "Per arm over follow-up among the survivors as allocated, with pointwise 95% bands; "
                      + ("1 - Kaplan-Meier." if name == "death" else "Aalen-Johansen, death from other causes competing."),
                      incidence_figure(outcomes.incidence, name, "trial", outcomes.control)))
    specs.append(("trial_harms_benefit", "Harms against benefit",
                  f"Events of {_ENDPOINT_LABELS.get(endpoint, endpoint)} prevented per 1,000 survivors against "
                  f"{_label(harm)} per 1,000 survivors of the arm (paired), per explanation.",
                  harms_benefit_figure(outcomes.effects, outcomes.harms, endpoint, harm)))
    if sample_size is not None:
        specs.append(("trial_sample_size", "How large a real trial must be",
                      "Power against participants per arm: Schoenfeld's formula with the simulated risks and effect "
                      "under each explanation (lines) and bootstrap trials (points, 95% Monte Carlo intervals).",
                      sample_size_figure(sample_size.curve, sample_size.settings.get("power", 0.8))))
    if window is not None:
        specs.append(("trial_window", "Window of opportunity in mice",
                      "Effect on DCC burden (treated / untreated) against the day treatment starts, read at each "
                      "day post infection; band: the ensemble's uncertainty, bars: the spread of the mice.",
                      window_figure(window)))
    out = []
    for stem, title, caption, (figure, data) in specs:
        paths = save_trial_figure(target, stem, figure, data)
        out.append(ReportFigure(stem=stem, title=title, caption=caption, svg=paths["svg"].read_bytes()))
    return out
