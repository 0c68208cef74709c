"""The virtual-population page: distributions of read-outs over many individuals, and how many the
physiological envelope accepted (:func:`awaken.simulate_population`, the compiled solver).

The settings form is made from the population schema (``awaken population``'s: size, seed, read-out
days, run length, tolerance, variability); the run is cached by the experiment's SHA-256 and the
settings."""

from __future__ import annotations

from typing import Any

import panel as pn

from awaken.api.experiments import list_experiments, load_experiment
from awaken.api.settings import SCHEMAS
from awaken.dashboard import plots
from awaken.dashboard.forms import SchemaForm, check
from awaken.dashboard.pages import JobPanel
from awaken.dashboard.settings import check_cap
from awaken.dashboard.tasks import LUNG_READOUTS, population_task
from awaken.errors import InputError

__all__ = ["PopulationPage"]


class PopulationPage:
    def __init__(self, context: Any) -> None:
        self.context = context
        self.settings = SCHEMAS["population"]
        self.choice = pn.widgets.Select(label="experiment", options=list(list_experiments()), value="influenza",
                                        css_classes=["population-experiment"])
        self.form = SchemaForm(self.settings, css_prefix="population")
        self.form.load({**self.settings(n=500, seed=1).model_dump(mode="json"), "output_days": [0, 9, 15, 28, 60]})
        self.envelope = pn.widgets.Checkbox(label="physiological envelope (virus below detection by 14 dpi, peak "
                                                  "IL-6 20-5,000 pg/mL)", value=True,
                                            css_classes=["population-envelope"])
        self.readout = pn.widgets.Select(label="read-out", options=list(LUNG_READOUTS), value="dcc_count",
                                         css_classes=["population-readout"])
        self.day = pn.widgets.Select(label="day", options=[], css_classes=["population-day"])
        self.run_button = pn.widgets.Button(label="Run", color="primary", css_classes=["run-population"])
        self.run_button.on_click(lambda _: self.run())
        self.jobs = JobPanel("population", self.show)
        self.summary = pn.pane.Markdown("", css_classes=["population-summary"])
        self.figure = pn.pane.Bokeh(plots.empty("distribution"), css_classes=["plot-population"])
        self.result: dict[str, Any] | None = None
        self.readout.param.watch(lambda _: self.draw(), "value")
        self.day.param.watch(lambda _: self.draw(), "value")
        caps = (f"The dashboard simulates at most {context.caps['population.n']:,} individuals and "
                f"{context.caps['population.output_days']} read-out days (`awaken population` takes more).")
        self.panel = pn.Row(
            pn.Column(pn.pane.Markdown(f"### Virtual population\n{caps}"), self.choice, self.form.panel,
                      self.envelope, self.run_button, self.jobs.panel, width=430),
            pn.Column(self.summary, pn.Row(self.readout, self.day), self.figure))

    def run(self) -> None:
        try:
            settings = check(self.form.data(), self.settings)
            check_cap("n", settings.n, "population.n")
            if len(settings.output_days) > self.context.caps["population.output_days"]:
                raise InputError.field("output_days", f"the dashboard reads out at most "
                                       f"{self.context.caps['population.output_days']} days; use the command line "
                                       f"for more", list(settings.output_days))
            experiment = load_experiment(self.choice.value)
        except InputError as err:
            self.jobs.refuse(err)
            return
        envelope = bool(self.envelope.value)
        key = f"population:{experiment.sha256()}:{settings.model_dump_json()}:{envelope}"
        jobs = self.context.jobs
        task = (experiment.model_dump_json(), settings.model_dump_json(), envelope)
        self.jobs.follow(jobs.submit(key, f"{experiment.name} population", lambda job: jobs.map(
            job, population_task, [task], "population", progress=True)[0]))

    def show(self, result: dict[str, Any]) -> None:
        self.result = result
        days = sorted(result["readouts"]["day"].unique().tolist())
        self.summary.object = (f"**{result['accepted']:,}** individuals accepted of **{result['candidates']:,}** "
                               f"candidates: acceptance rate **{result['acceptance_rate']:.1%}**")
        self.day.options = [f"{d:g}" for d in days]
        self.day.value = f"{days[-1]:g}" if len(days) < 3 else f"{days[2]:g}"
        self.draw()

    def draw(self) -> None:
        if self.result is None or not self.day.value:
            return
        frame = self.result["readouts"]
        values = frame.loc[frame["day"] == float(self.day.value), self.readout.value]
        log = not self.readout.value.endswith("fraction")
        self.figure.object = plots.histogram(values, title=f"{self.readout.value} at day {self.day.value}",
                                             x_label=self.readout.value, log=log)
