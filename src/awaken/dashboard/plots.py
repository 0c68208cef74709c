"""The dashboard's figures (Bokeh): time courses with every mouse's spread, histograms, incidence curves.

Each function takes plain tables and returns a Bokeh figure; the pages put them in Panel panes.
A group mean is a thick line, each mouse a thin one of the same colour, so the spread of the
group is seen as in the study's figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from bokeh.models import ColumnDataSource, HoverTool
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

__all__ = ["timecourse", "histogram", "curves", "window", "empty"]

WIDTH, HEIGHT = 460, 260


def empty(title: str, message: str = "run to see") -> figure:
    fig = figure(title=f"{title} ({message})", width=WIDTH, height=HEIGHT, toolbar_location=None)
    fig.line([0, 1], [0, 0], alpha=0)
    return fig


def timecourse(per_mouse: pd.DataFrame, columns: Mapping[str, str], *, title: str, y_label: str,
               log: bool = False) -> figure:
    """``columns`` (read-out -> legend label) over days: every mouse thin, the group mean thick."""
    fig = figure(title=title, width=WIDTH, height=HEIGHT, x_axis_label="days post infection", y_axis_label=y_label,
                 y_axis_type="log" if log else "linear", tools="pan,wheel_zoom,box_zoom,reset,save")
    for i, (column, label) in enumerate(columns.items()):
        colour = Category10_10[i % 10]
        frame = per_mouse[["mouse", "day", column]].copy()
        if log:
            frame[column] = frame[column].clip(lower=1e-3)
        for _, mouse in frame.groupby("mouse"):
            fig.line(mouse["day"], mouse[column], color=colour, alpha=0.35, line_width=1)
        mean = frame.groupby("day", as_index=False)[column].mean()
        source = ColumnDataSource({"day": mean["day"], "value": mean[column]})
        fig.line("day", "value", source=source, color=colour, line_width=3, legend_label=label)
    fig.add_tools(HoverTool(tooltips=[("day", "@day{0}"), ("mean", "@value{0.[000]e}")], mode="vline"))
    fig.legend.location = "top_right"
    fig.legend.label_text_font_size = "8pt"
    return fig


def histogram(values: Sequence[float], *, title: str, x_label: str, log: bool = True, bins: int = 40) -> figure:
    """Distribution of a read-out over individuals (log10 axis for quantities spanning decades)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if log:
        values = np.log10(np.clip(values, 1e-6, None))
        x_label = f"log10 {x_label}"
    fig = figure(title=title, width=WIDTH + 100, height=HEIGHT + 40, x_axis_label=x_label,
                 y_axis_label="individuals", toolbar_location=None)
    if values.size:
        counts, edges = np.histogram(values, bins=bins)
        fig.quad(top=counts, bottom=0, left=edges[:-1], right=edges[1:], fill_color="#4c78a8", line_color="white")
    return fig


def curves(series: Mapping[str, pd.Series], *, title: str, x_label: str, y_label: str) -> figure:
    """Step curves (cumulative incidence by month), one per group."""
    fig = figure(title=title, width=WIDTH + 100, height=HEIGHT + 40, x_axis_label=x_label, y_axis_label=y_label,
                 toolbar_location=None)
    for i, (label, curve) in enumerate(series.items()):
        fig.step(np.asarray(curve.index, dtype=float), np.asarray(curve.values, dtype=float), mode="after",
                 color=Category10_10[i % 10], line_width=2, legend_label=str(label))
    if series:
        fig.legend.location = "top_left"
    return fig


def window(frame: pd.DataFrame, *, title: str) -> figure:
    """The window of opportunity: a drug's effect by the day it starts, the mice's and the ensemble's bands."""
    fig = figure(title=title, width=WIDTH + 100, height=HEIGHT + 40, x_axis_label="treatment start (days post infection)",
                 y_axis_label="DCC burden, treated / untreated", toolbar_location=None)
    for i, (drug, part) in enumerate(frame.groupby("drug", sort=False)):
        colour = Category10_10[i % 10]
        part = part.sort_values("start_day")
        fig.varea(x=part["start_day"], y1=part["ensemble_low"], y2=part["ensemble_high"], fill_color=colour,
                  fill_alpha=0.12)
        fig.varea(x=part["start_day"], y1=part["mouse_low"], y2=part["mouse_high"], fill_color=colour, fill_alpha=0.25)
        fig.line(part["start_day"], part["effect"], color=colour, line_width=2, legend_label=str(drug))
    if len(frame):
        fig.legend.location = "bottom_right"
    return fig
