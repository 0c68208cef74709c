"""The lung page: pick a shipped experiment or edit one, run it, see every mouse and the scorecard.

The form is made from the :class:`~awaken.experiments.protocol.Experiment` schema (every field with
its range and unit; the mechanism switches); parameter overrides are chosen from the parameter table
(value, unit, plausible range, source). Running simulates the group (every mouse: DCC burden,
phenotypes, IL-6, virus, T cells) and the scorecard of the study's targets with the same mechanisms
and overrides, as two tasks on the runs layer; both are cached by the experiment's SHA-256.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn

from awaken.api.experiments import ENGINES, format_band, format_value, list_experiments, load_experiment, parameter_table
from awaken.api.settings import SCHEMAS
from awaken.dashboard import plots
from awaken.dashboard.forms import SchemaForm, check
from awaken.dashboard.pages import JobPanel
from awaken.dashboard.settings import check_cap
from awaken.dashboard.tasks import lung_task
from awaken.errors import InputError

__all__ = ["LungPage"]

#: The figures: title -> (read-outs with labels, y axis, log scale).
FIGURES: dict[str, tuple[dict[str, str], str, bool]] = {
    "DCC burden": ({"dcc_count": "DCCs"}, "cells per lung", True),
    "Phenotypes": ({"mesenchymal_fraction": "mesenchymal (dormant)", "hybrid_fraction": "hybrid E/M",
                    "epithelial_fraction": "epithelial-like", "proliferating_fraction": "proliferating"},
                   "fraction of DCCs", False),
    "IL-6": ({"il6_pg_per_ml": "IL-6"}, "pg/mL lavage", True),
    "Virus": ({"virus_titer": "virus"}, "TCID50 per lung", True),
    "T cells": ({"cd4_t_cells": "CD4 (lung)", "cd4_aggregate_t_cells": "CD4 (aggregates)",
                 "cd8_t_cells_active": "CD8 (active, tumour-reactive)"}, "cells", True),
}


class LungPage:
    def __init__(self, context: Any) -> None:
        self.context = context
        self.schema = SCHEMAS["experiment"]
        self.choice = pn.widgets.Select(label="shipped experiment", options=list(list_experiments()),
                                        value="influenza", css_classes=["lung-experiment"])
        self.engine = pn.widgets.Select(label="engine", options=list(ENGINES), value="fast",
                                        description="fast: the compiled batch solver; reference: SciPy Radau",
                                        css_classes=["lung-engine"])
        self.form = SchemaForm(self.schema, skip=("parameters",), css_prefix="lung")
        self.overrides: dict[str, float] = {}
        table = parameter_table("mouse")
        self.parameters = {p.name: p for p in table}
        self.override_name = pn.widgets.Select(label="parameter", options=sorted(self.parameters),
                                               css_classes=["lung-override-name"])
        self.override_value = pn.widgets.FloatInput(label="value", css_classes=["lung-override-value"])
        self.override_help = pn.pane.Markdown("", margin=(0, 5))
        self.override_list = pn.pane.Markdown("", margin=(0, 5), css_classes=["lung-overrides"])
        add = pn.widgets.Button(label="Override", css_classes=["lung-override-add"])
        clear = pn.widgets.Button(label="Clear overrides")
        add.on_click(lambda _: self._add_override())
        clear.on_click(lambda _: self._set_overrides({}))
        self.override_name.param.watch(lambda _: self._describe_parameter(), "value")
        frame = pd.DataFrame([{"parameter": p.name, "value": p.value, "unit": p.unit,
                               "range": f"{p.range[0]:g}-{p.range[1]:g}", "cv": p.cv, "source": p.source}
                              for p in table])
        self.run_button = pn.widgets.Button(label="Run", color="primary", css_classes=["run-lung"])
        self.run_button.on_click(lambda _: self.run())
        self.jobs = JobPanel("lung", self.show)
        self.figures = {title: pn.pane.Bokeh(plots.empty(title), css_classes=[f"plot-{_slug(title)}"])
                        for title in FIGURES}
        self.scorecard = pn.pane.HTML("", css_classes=["lung-scorecard"], sizing_mode="stretch_width")
        self.choice.param.watch(lambda _: self._load(), "value")
        self._load()
        self._describe_parameter()
        controls = pn.Column(
            pn.pane.Markdown("### Experiment"), self.choice, self.engine,
            pn.Card(self.form.panel, title="Edit the protocol (fields with range and unit)", collapsed=False),
            pn.Card(pn.Column(pn.Row(self.override_name, self.override_value), self.override_help,
                              pn.Row(add, clear), self.override_list,
                              pn.pane.DataFrame(frame, index=False, max_rows=100, sizing_mode="stretch_width")),
                    title="Parameters (value, unit, plausible range, source)", collapsed=True),
            self.run_button, self.jobs.panel, width=430)
        self.panel = pn.Row(controls, pn.Column(
            pn.GridBox(*self.figures.values(), ncols=2),
            pn.pane.Markdown("### Scorecard (the study's targets, this model's mechanisms and overrides; "
                             "4 mice per group, 60 days)"), self.scorecard))

    # ------------------------------------------------------------ form
    def _load(self) -> None:
        experiment = load_experiment(self.choice.value)
        self.form.load(experiment.model_dump(mode="json"))
        self._set_overrides(dict(experiment.parameters))

    def _describe_parameter(self) -> None:
        p = self.parameters[self.override_name.value]
        self.override_value.value = self.overrides.get(p.name, p.value)
        self.override_help.object = (f"*{p.description}* - nominal {p.value:g} {p.unit}, plausible range "
                                     f"{p.range[0]:g}-{p.range[1]:g}, cv {p.cv:g}; source: {p.source}")

    def _add_override(self) -> None:
        self._set_overrides({**self.overrides, self.override_name.value: self.override_value.value})

    def _set_overrides(self, overrides: dict[str, float]) -> None:
        self.overrides = overrides
        self.override_list.object = ("overrides: " + ", ".join(
            f"`{k} = {v:g} {self.parameters[k].unit if k in self.parameters else ''}`" for k, v in overrides.items())
            if overrides else "no overrides (nominal values)")

    def experiment(self) -> Any:
        """The form's experiment, checked by the schema and the dashboard's caps."""
        data = self.form.data()
        data["parameters"] = dict(self.overrides)
        experiment = check(data, self.schema)
        check_cap("mice", experiment.mice, "lung.mice")
        check_cap("days", experiment.days, "lung.days")
        return experiment

    # ------------------------------------------------------------ running
    def run(self) -> None:
        try:
            experiment = self.experiment()
        except InputError as err:
            self.jobs.refuse(err)
            return
        engine = self.engine.value
        jobs = self.context.jobs
        payload = experiment.model_dump_json()
        key = f"lung:{experiment.sha256()}:{engine}"
        self.jobs.follow(jobs.submit(key, experiment.name, lambda job: jobs.map(
            job, lung_task, [("experiment", payload, engine), ("scorecard", payload, engine)],
            "experiment and scorecard", progress=True)))

    def show(self, result: list[Any]) -> None:
        per_mouse, scores = result
        for title, (columns, label, log) in FIGURES.items():
            self.figures[title].object = plots.timecourse(per_mouse, columns, title=title, y_label=label, log=log)
        self.scorecard.object = scorecard_html(scores)


def scorecard_html(scores: list[dict[str, Any]]) -> str:
    rows = []
    for s in scores:
        if not s["id"].startswith("M"):
            continue
        verdict = {True: ("pass", "#1a7f37"), False: ("FAIL", "#cf222e"), None: ("pending", "#9a6700")}[s["passed"]]
        rows.append(f"<tr><td>{s['id']}</td><td>{_escape(s['observation'])}</td>"
                    f"<td style='text-align:right'>{format_band(s['band'])}</td>"
                    f"<td style='text-align:right'>{format_value(s['simulated'])}</td>"
                    f"<td style='color:{verdict[1]};font-weight:bold' class='verdict'>{verdict[0]}</td></tr>")
    return ("<table style='font-size:12px;border-collapse:collapse'><tr><th>target</th><th>observation</th>"
            "<th>band</th><th>simulated</th><th>result</th></tr>" + "".join(rows) + "</table>")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slug(title: str) -> str:
    return title.lower().replace(" ", "-").replace("-6", "6")
