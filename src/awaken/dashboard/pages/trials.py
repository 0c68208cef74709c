"""The trials page: an in-silico trial's arms and timing, its outcome curves, and the window of opportunity.

A trial file (``docs/trials.md``) is chosen from the shipped examples (``examples/trials/`` of a
source checkout) or from ``<runs folder>/trials/*.yaml`` (your own; the dashboard reads nothing
else). Its scalar settings are a form made from the :class:`~awaken.trials.design.Trial` schema
(size, seed, follow-up, randomisation, eligibility, endpoints, explanations, design hazard ratios,
the cohort's keys and the trial parameters as YAML). Its arms are a YAML box holding the file's
``arms`` (every intervention, dose, route, pathogen and timing can be edited there, and arms added),
and every drug given at an infection gets a slider for the timing of its first dose after symptoms;
the sliders and the box stay in step (a slider rewrites the box; an edited box redraws the sliders).
A box that is not YAML, or a value the schema refuses, is shown with its field's name before any work. **Run** calls :func:`awaken.run_trial` (every participant under every arm, on the
runs layer) in the background and shows the effects by arm (risk differences, hazard ratios, NNT),
the cumulative incidence of the chosen endpoint by arm under the chosen explanation, and the mouse
window of opportunity (effect by the day treatment starts). Nothing is shown that the trials API did
not compute; without ``awaken.api.trials`` the page says "trials: not available in this version".
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from pathlib import Path
from typing import Any

import pandas as pd
import panel as pn
import yaml

from awaken.dashboard import plots
from awaken.dashboard.forms import SchemaForm, check, parse_yaml
from awaken.dashboard.pages import JobPanel
from awaken.dashboard.settings import check_cap, inside
from awaken.errors import InputError

__all__ = ["TrialsPage", "available", "UNAVAILABLE", "trial_files", "KEPT", "AS_YAML"]

UNAVAILABLE = "trials: not available in this version"
#: The trial form's fields the page shows itself: the arms (a YAML box in step with the timing sliders).
KEPT = ("arms",)
#: The trial form's fields shown as YAML boxes although they have a widget (a free mapping of overrides).
AS_YAML = ("parameters",)


def available() -> bool:
    """Whether this awaken has the trials API (``awaken.api.trials.run_trial`` and its ``Trial`` schema)."""
    if importlib.util.find_spec("awaken.api.trials") is None:
        return False
    api = importlib.import_module("awaken.api.trials")
    return hasattr(api, "run_trial") and hasattr(api, "Trial") and hasattr(api, "load_trial")


def _api() -> Any:
    return importlib.import_module("awaken.api.trials")


def trial_files(runs_folder: Path) -> dict[str, Path]:
    """Trial files by label: the shipped examples (a source checkout's ``examples/trials``) and the
    runs folder's ``trials/*.yaml``."""
    import awaken

    files: dict[str, Path] = {}
    shipped = Path(awaken.__file__).resolve().parents[2] / "examples" / "trials"
    if shipped.is_dir():
        files.update({f"{p.stem} (example)": p for p in sorted(shipped.glob("*.yaml"))})
    own = runs_folder / "trials"
    if own.is_dir():
        for p in sorted(own.glob("*.yaml")):
            try:
                files[f"{p.stem} (runs folder)"] = inside(runs_folder, p.relative_to(runs_folder))
            except InputError:
                continue
    return files


class TrialsPage:
    def __init__(self, context: Any) -> None:
        self.context = context
        if not available():
            self.panel = pn.Column(pn.pane.Markdown(f"### Trials\n\n**{UNAVAILABLE}.**", css_classes=["trials-absent"]))
            return
        api = _api()
        self.schema = api.Trial
        self.files = trial_files(context.runs_folder)
        default = next((k for k in self.files if k.startswith("il6r_blockade")), next(iter(self.files), None))
        self.choice = pn.widgets.Select(label="trial file", options=list(self.files), value=default,
                                        css_classes=["trial-file"])
        self.form = SchemaForm(self.schema, skip=KEPT, css_prefix="trial", as_yaml=AS_YAML)
        self.arms = pn.pane.Markdown("", css_classes=["trial-arms"])
        self.arms_yaml = pn.widgets.TextAreaInput(
            label="arms (YAML, as in the trial file; the first arm is the control)", height=220,
            sizing_mode="stretch_width", css_classes=["trial-arms-yaml"])
        self.arms_yaml.param.watch(lambda _: self._arms_edited(), "value")
        self._syncing = False
        self.timing = pn.Column(css_classes=["trial-timing"])
        self.window_switch = pn.widgets.Checkbox(label="mouse window of opportunity (8 mice, 20 ensemble members, "
                                                       "about 10 s)", value=True, css_classes=["trial-window-switch"])
        self.run_button = pn.widgets.Button(label="Run", color="primary", css_classes=["run-trial"])
        self.run_button.on_click(lambda _: self.run())
        self.jobs = JobPanel("trial", self.show)
        self.effects = pn.pane.HTML("", css_classes=["trial-effects"], sizing_mode="stretch_width")
        self.explanation = pn.widgets.Select(label="explanation", options=[], css_classes=["trial-explanation"])
        self.endpoint = pn.widgets.Select(label="endpoint", options=[], css_classes=["trial-endpoint"])
        self.read_day = pn.widgets.Select(label="window read on day", options=[], css_classes=["trial-read-day"])
        self.curves = pn.pane.Bokeh(plots.empty("cumulative incidence by arm"), css_classes=["plot-trial"])
        self.window = pn.pane.Bokeh(plots.empty("window of opportunity"), css_classes=["plot-trial-window"])
        self.result: Any = None
        for widget in (self.explanation, self.endpoint):
            widget.param.watch(lambda _: self.draw_curves(), "value")
        self.read_day.param.watch(lambda _: self.draw_window(), "value")
        self.choice.param.watch(lambda _: self._load(), "value")
        self._slider_paths: list[tuple[int, int, Any]] = []
        caps = (f"The dashboard runs at most {context.caps['trial.size']:,} participants per explanation "
                f"(`awaken trial run` takes more).")
        self.panel = pn.Row(
            pn.Column(pn.pane.Markdown(f"### Trial\n{caps}"), self.choice, self.arms,
                      pn.pane.Markdown("**Timing of each drug's first dose after symptoms** [d]"), self.timing,
                      pn.Card(self.arms_yaml, title="Arms and their interventions (edit)", collapsed=True,
                              css_classes=["trial-arms-card"]),
                      pn.Card(self.form.panel, title="Trial settings (fields with range and unit)", collapsed=False),
                      self.window_switch, self.run_button, self.jobs.panel, width=430),
            pn.Column(self.effects, pn.Row(self.explanation, self.endpoint), self.curves, self.read_day,
                      self.window))
        self._load()

    # ------------------------------------------------------------ the trial file
    def _load(self) -> None:
        if not self.choice.value:
            self.arms.object = "no trial files (put your own in the runs folder's `trials/`)"
            return
        try:
            trial = _api().load_trial(self.files[self.choice.value])
        except InputError as err:
            self.jobs.refuse(err)
            return
        data = trial.model_dump(mode="json")
        self.form.load(data)
        self._show_arms(data["arms"])
        self._write_arms(data["arms"])

    # ------------------------------------------------------------ the arms: a YAML box and timing sliders in step
    # The box is the one source of the arms: a slider writes its timing into the box as it moves, and an
    # edited box redraws the sliders; the trial is read from the box alone.
    def _write_arms(self, arms: list[Any]) -> None:
        self._syncing = True
        try:
            self.arms_yaml.value = yaml.safe_dump(arms, sort_keys=False, allow_unicode=True)
        finally:
            self._syncing = False

    def _arms_edited(self) -> None:
        if self._syncing:
            return
        try:
            arms = parse_yaml(self.arms_yaml.value, "arms")
        except InputError:
            return  # shown, naming the field, when the trial is run
        if isinstance(arms, list):
            self._show_arms(arms)

    def _show_arms(self, arms: list[Any]) -> None:
        """The arms as a list, and a timing slider for every drug given at an infection whose window the
        slider can show (0-30 days; any other value is left to the schema to refuse when the trial is run)."""
        lines = []
        sliders = []
        self._slider_paths = []
        for i, arm in enumerate(arms):
            arm = arm if isinstance(arm, dict) else {}
            interventions = arm.get("interventions")
            interventions = interventions if isinstance(interventions, list) else []
            given = [f"{x.get('kind', '?')}" + (f" {x['drug']} {x.get('dose', '')}" if x.get("drug") else "")
                     for x in interventions if isinstance(x, dict)]
            lines.append(f"- **{arm.get('name', '?')}**{' (control)' if i == 0 else ''}: "
                         f"{', '.join(given) or 'usual care'}")
            for j, x in enumerate(interventions):  # j numbers the list as written, so the box and slider agree
                if not isinstance(x, dict) or x.get("kind") != "drug_at_infection":
                    continue
                timing = x.get("start_after_symptoms_days")
                if not isinstance(timing, list) or len(timing) != 2:
                    continue
                if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in timing) or \
                        not 0 <= timing[0] <= timing[1] <= 30:
                    continue
                slider = pn.widgets.RangeSlider(label=f"{arm.get('name')}: {x.get('drug')}", start=0, end=30,
                                                step=0.5, value=(float(timing[0]), float(timing[1])),
                                                css_classes=[f"trial-timing-{arm.get('name')}"])
                slider.param.watch(lambda event, i=i, j=j: self._timing_moved(i, j, event.new), "value")
                sliders.append(slider)
                self._slider_paths.append((i, j, slider))
        self.arms.object = "**Arms**\n\n" + "\n".join(lines)
        self.timing.objects = sliders or [pn.pane.Markdown("(no drug given at an infection)")]

    def _timing_moved(self, i: int, j: int, value: tuple[float, float]) -> None:
        """Write a slider's window into the box (if the box still has that drug where the slider was made)."""
        try:
            arms = parse_yaml(self.arms_yaml.value, "arms")
            arms[i]["interventions"][j]["start_after_symptoms_days"] = [float(v) for v in value]
        except (InputError, TypeError, IndexError, KeyError):
            return  # the box changed under the slider: the box wins
        self._write_arms(arms)

    def trial(self) -> Any:
        """The form's trial with the arms of the box, checked by the schema and the caps."""
        data = self.form.data()
        data["arms"] = parse_yaml(self.arms_yaml.value, "arms")
        trial = check(data, self.schema)
        check_cap("size", trial.size, "trial.size")
        return trial

    # ------------------------------------------------------------ running
    def run(self) -> None:
        try:
            trial = self.trial()
        except InputError as err:
            self.jobs.refuse(err)
            return
        window = bool(self.window_switch.value)
        digest = hashlib.sha256(trial.model_dump_json().encode()).hexdigest()
        jobs = self.context.jobs

        def work(job: Any) -> Any:
            address = jobs.address
            return _api().run_trial(trial, window=window, scheduler=address, inline=address is None,
                                    progress=job.factory)

        self.jobs.follow(jobs.submit(f"trial:{digest}:{window}", f"trial {trial.name}", work))

    def show(self, result: Any) -> None:
        self.result = result
        outcomes = result.outcomes
        self.effects.object = effects_html(outcomes.effects)
        self.explanation.options = list(outcomes.explanations)
        self.endpoint.options = list(outcomes.endpoints)
        if result.window is not None:
            self.read_day.options = [str(d) for d in sorted(result.window["read_day"].unique())]
        self.draw_curves()
        self.draw_window()

    def draw_curves(self) -> None:
        if self.result is None or not self.explanation.value or not self.endpoint.value:
            return
        frame = self.result.outcomes.incidence
        chosen = frame[(frame["explanation"] == self.explanation.value) & (frame["endpoint"] == self.endpoint.value)
                       & (frame["view"] == "trial")]
        series = {arm: part.set_index("day")["risk"] for arm, part in chosen.groupby("arm", sort=False)}
        self.curves.object = plots.curves(series, title=f"{self.endpoint.value} by arm ({self.explanation.value}, "
                                          f"as a trial sees it)", x_label="days after randomisation",
                                          y_label="cumulative incidence")

    def draw_window(self) -> None:
        window = None if self.result is None else self.result.window
        if window is None or not self.read_day.value:
            return
        chosen = window[window["read_day"] == int(self.read_day.value)]
        self.window.object = plots.window(chosen, title=f"Window of opportunity in mice: effect on day "
                                          f"{self.read_day.value}")


def effects_html(effects: pd.DataFrame) -> str:
    """Effects at the last horizon: one row per explanation, endpoint and arm."""
    if effects.empty:
        return "<p>no effects estimated</p>"
    last = effects[effects["horizon_day"] == effects["horizon_day"].max()]

    def ci(v: float, lo: float, hi: float, digits: int) -> str:
        return "-" if pd.isna(v) else f"{v:.{digits}f} ({lo:.{digits}f} to {hi:.{digits}f})"

    rows = "".join(
        f"<tr><td>{e.explanation}</td><td>{e.endpoint}</td><td>{e.arm}</td>"
        f"<td style='text-align:right'>{e.control_risk_paired:.4f}</td><td style='text-align:right'>{e.risk_paired:.4f}</td>"
        f"<td style='text-align:right'>{ci(e.rd_paired, e.rd_paired_lower, e.rd_paired_upper, 4)}</td>"
        f"<td style='text-align:right'>{ci(e.hr, e.hr_lower, e.hr_upper, 2)}</td><td>{e.nnt_paired_text}</td></tr>"
        for e in last.itertuples())
    return (f"<h4>Effects at {last['horizon_day'].iloc[0]:g} days (paired: every participant under every arm)</h4>"
            "<table style='font-size:12px'><tr><th>explanation</th><th>endpoint</th><th>arm</th><th>risk, control</th>"
            "<th>risk, arm</th><th>risk difference (95% CI)</th><th>hazard ratio (95% CI)</th><th>NNT</th></tr>"
            + rows + "</table>")
