"""The trials page: arms, timing and outcome curves of in-silico trials - once the trials API exists.

This page reaches the trials only through the Python API and shows nothing it did not compute. It
expects (the contract the trials issue is to provide; adjust :func:`available`, :func:`schema` and
:func:`run_trial` here if it lands differently):

* ``awaken.api.trials.run_trial(spec, *, out=None, progress=False)``: runs a trial given a
  ``TrialSpec`` (or a file) and returns a result;
* ``awaken.api.settings.SCHEMAS["trial"]``: the ``TrialSpec`` schema the form is made from (arms,
  timing of each arm's treatment, sizes);
* the result's ``outcomes`` (a table with columns ``arm``, ``day`` and read-outs or outcome
  measures) and ``summary`` (one row per arm), drawn as curves and a table.

Without ``awaken.api.trials`` the page says "trials: not available in this version".
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import pandas as pd
import panel as pn

from awaken.dashboard import plots
from awaken.dashboard.forms import SchemaForm, check
from awaken.dashboard.pages import JobPanel
from awaken.errors import InputError

__all__ = ["TrialsPage", "available", "UNAVAILABLE"]

UNAVAILABLE = "trials: not available in this version"


def available() -> bool:
    """Whether this awaken has the trials API (``awaken.api.trials.run_trial`` and a ``trial`` schema)."""
    if importlib.util.find_spec("awaken.api.trials") is None:
        return False
    from awaken.api.settings import SCHEMAS

    return hasattr(importlib.import_module("awaken.api.trials"), "run_trial") and "trial" in SCHEMAS


def schema() -> Any:
    from awaken.api.settings import SCHEMAS

    return SCHEMAS["trial"]


def run_trial(spec: Any, progress: Any) -> Any:
    """The trials API's call (work in a background job of the dashboard)."""
    return importlib.import_module("awaken.api.trials").run_trial(spec, progress=progress)


class TrialsPage:
    def __init__(self, context: Any) -> None:
        self.context = context
        if not available():
            self.panel = pn.Column(pn.pane.Markdown(f"### Trials\n\n**{UNAVAILABLE}.**", css_classes=["trials-absent"]))
            return
        self.schema = schema()
        self.form = SchemaForm(self.schema, css_prefix="trial")
        try:
            self.form.load(self.schema().model_dump(mode="json"))
        except Exception:  # a schema without defaults for every field: an empty form
            pass
        self.run_button = pn.widgets.Button(label="Run", color="primary", css_classes=["run-trial"])
        self.run_button.on_click(lambda _: self.run())
        self.jobs = JobPanel("trial", self.show)
        self.summary = pn.pane.DataFrame(pd.DataFrame(), index=False, css_classes=["trial-summary"])
        self.figure = pn.pane.Bokeh(plots.empty("outcomes by arm"), css_classes=["plot-trial"])
        self.panel = pn.Row(pn.Column(pn.pane.Markdown("### Trial"), self.form.panel, self.run_button,
                                      self.jobs.panel, width=430), pn.Column(self.summary, self.figure))

    def run(self) -> None:
        try:
            spec = check(self.form.data(), self.schema)
        except InputError as err:
            self.jobs.refuse(err)
            return
        digest = spec.sha256() if hasattr(spec, "sha256") else str(hash(spec.model_dump_json()))
        self.jobs.follow(self.context.jobs.submit(f"trial:{digest}", getattr(spec, "name", "trial"),
                                                  lambda job: run_trial(spec, job.factory)))

    def show(self, result: Any) -> None:
        summary = getattr(result, "summary", None)
        if isinstance(summary, pd.DataFrame):
            self.summary.object = summary
        outcomes = getattr(result, "outcomes", None)
        if isinstance(outcomes, pd.DataFrame) and {"arm", "day"} <= set(outcomes.columns):
            measure = next(c for c in outcomes.columns if c not in ("arm", "day"))
            series = {arm: frame.set_index("day")[measure] for arm, frame in outcomes.groupby("arm")}
            self.figure.object = plots.curves(series, title=f"{measure} by arm", x_label="day", y_label=measure)
