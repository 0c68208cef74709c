"""The cohort page: a survivor cohort's scenario (a form from its schema), the study's two designs on
it, and the matched incidence curves.

The cohort is simulated by :func:`awaken.simulate_cohort` into the runs folder
(``dashboard-cohort-<scenario sha256>-n<N>-s<seed>``: the same scenario, size and seed is the same
run, resumed or reused at once), then :func:`awaken.analyze_ukb` and :func:`awaken.analyze_flatiron`
read its records as they would a real extract.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn

from awaken.api.analyses import analyze_flatiron, analyze_ukb
from awaken.api.cohort import CohortScenario, simulate_cohort
from awaken.api.settings import SCHEMAS
from awaken.dashboard import plots
from awaken.dashboard.forms import SchemaForm, check
from awaken.dashboard.pages import JobPanel
from awaken.dashboard.settings import check_cap
from awaken.errors import InputError
from awaken.schemas import describe_field, validate

__all__ = ["CohortPage"]


class CohortPage:
    def __init__(self, context: Any) -> None:
        self.context = context
        self.settings = SCHEMAS["cohort"]
        self.form = SchemaForm(CohortScenario, skip=("parameters",), css_prefix="cohort")
        self.form.load(CohortScenario().model_dump(mode="json"))
        self.n = pn.widgets.IntInput(label=f"n (1-{context.caps['cohort.n']:,}) [people]", value=20_000,
                                     description=describe_field(self.settings, "n"), css_classes=["cohort-n"])
        self.seed = pn.widgets.IntInput(label="seed", value=1, description=describe_field(self.settings, "seed"),
                                        css_classes=["cohort-seed"])
        self.run_button = pn.widgets.Button(label="Run", color="primary", css_classes=["run-cohort"])
        self.run_button.on_click(lambda _: self.run())
        self.jobs = JobPanel("cohort", self.show)
        self.results = pn.pane.HTML("", css_classes=["cohort-results"], sizing_mode="stretch_width")
        self.figure = pn.pane.Bokeh(plots.empty("lung metastasis, matched cohorts"), css_classes=["plot-cohort"])
        self.panel = pn.Row(
            pn.Column(pn.pane.Markdown("### Cohort scenario"), self.n, self.seed, self.form.panel, self.run_button,
                      self.jobs.panel, width=430),
            pn.Column(self.results, self.figure))

    def run(self) -> None:
        try:
            scenario = check(self.form.data(), CohortScenario)
            settings = validate({"n": self.n.value, "seed": self.seed.value}, self.settings)
            check_cap("n", settings.n, "cohort.n")
        except InputError as err:
            self.jobs.refuse(err)
            return
        n, seed = settings.n, settings.seed
        out = self.context.runs_folder / f"dashboard-cohort-{scenario.sha256()[:16]}-n{n}-s{seed}"
        jobs = self.context.jobs

        def work(job: Any) -> dict[str, Any]:
            address = jobs.address
            run = simulate_cohort(n, seed, out=out, scenario=scenario, scheduler=address, inline=address is None,
                                  block_size=max(2_000, min(50_000, n // 8)), progress=job.factory,
                                  command=["awaken", "dashboard", "(cohort page)"])
            advance = job.factory("analyses", 2, "designs")
            ukb = analyze_ukb(run.out)
            advance(1)
            flatiron = analyze_flatiron(run.out)
            advance(1)
            return {"out": str(out.name), "ukb_or": ukb.odds_ratios, "ukb_hr": ukb.hazard_ratios,
                    "flatiron_hr": flatiron.hazard_ratios, "incidence": flatiron.incidence,
                    "counts": {**ukb.counts, **{f"flatiron {k}": v for k, v in flatiron.counts.items()}},
                    "notes": [*ukb.notes, *flatiron.notes]}

        self.jobs.follow(jobs.submit(f"cohort:{scenario.sha256()}:{n}:{seed}", f"cohort {scenario.name}", work))

    def show(self, result: dict[str, Any]) -> None:
        def table(frame: pd.DataFrame, title: str) -> str:
            return f"<h4>{title}</h4>" + frame.to_html(float_format=lambda v: f"{v:.3g}", border=0)

        counts = ", ".join(f"{k}: {v:,}" for k, v in result["counts"].items())
        notes = "".join(f"<li>{n}</li>" for n in result["notes"])
        self.results.object = (
            f"<p>Run directory: <code>{result['out']}</code> (see the runs page)</p>"
            + table(result["ukb_or"], "UK Biobank design: odds ratio of cancer death, test-positive vs negative")
            + table(result["ukb_hr"], "UK Biobank design: hazard ratios by time since the positive test")
            + table(result["flatiron_hr"], "Flatiron design: hazard ratio of lung metastasis, recorded COVID-19")
            + f"<p style='font-size:11px'>{counts}</p>" + (f"<ul>{notes}</ul>" if notes else ""))
        self.figure.object = plots.curves(result["incidence"], title="Lung metastasis, matched cohorts (Flatiron)",
                                          x_label="months", y_label="cumulative incidence")
