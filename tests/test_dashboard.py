"""The dashboard in a real browser: every page loads without console errors, a control moves a plot,
a bad value gets the schema's field-named message, long work is cached, and the server stays safe.

The browser is Debian's headless Chromium driven by Playwright (no downloaded browser). Without
Chromium the browser tests are skipped, saying so; with ``AWAKEN_REQUIRE_BROWSER=1`` (CI sets it and
installs ``chromium``) they fail instead. Screenshots of every page are saved as test artefacts in
``tests/artifacts/dashboard/`` (git-ignored); ``AWAKEN_UPDATE_SCREENSHOTS=1`` also writes the ones
``docs/dashboard.md`` shows (``docs/figures/dashboard-*.png``, reduced to 256 colours).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from awaken.dashboard.jobs import Jobs
from awaken.dashboard.settings import inside, runs_folder
from awaken.errors import InputError

ARTIFACTS = Path(__file__).parent / "artifacts" / "dashboard"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "figures"
#: Screenshots docs/dashboard.md shows.
DOCUMENTED = {"page-index", "lung-no-cd4-suppression", "lung-error", "population", "cohort", "runs", "trials"}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGES = ("", "lung", "population", "cohort", "trials", "runs")
#: Seconds a run may take in the browser tests (the first run also starts a Dask worker).
RUN_SECONDS = 240


# ---------------------------------------------------------------- without a browser
def test_runs_folder_may_not_lie_in_awakens_own_tree(tmp_path):
    src = Path(__file__).resolve().parents[1] / "src"
    with pytest.raises(InputError, match="runs_folder .*awaken's own package or source tree"):
        runs_folder(src / "runs")
    assert runs_folder(tmp_path / "new").is_dir()


def test_nothing_outside_the_runs_folder_is_read(tmp_path):
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "link").symlink_to(tmp_path)
    with pytest.raises(InputError, match="outside the dashboard's runs folder"):
        inside(tmp_path / "runs", "../secret")
    with pytest.raises(InputError, match="outside the dashboard's runs folder"):
        inside(tmp_path / "runs", "link")


def test_a_cancelled_job_stops_at_its_next_progress_report_and_is_not_cached():
    jobs = Jobs(inline=True)
    reports = []

    def work(job):
        advance = job.factory("steps", 1000, "steps")
        for _ in range(1000):
            time.sleep(0.01)
            reports.append(1)
            advance(1)
        return "finished"

    try:
        job = jobs.submit("slow", "slow work", work)
        time.sleep(0.3)
        job.cancel()
        assert job.wait(5).status == "cancelled" and job.result is None
        assert len(reports) < 1000
        assert jobs.get("slow") is None  # not cached: the next submit runs again
    finally:
        jobs.close()


def test_the_status_line_is_not_left_behind_by_a_job_that_ends_while_the_page_looks_at_it(monkeypatch):
    """The job runs in another thread and may end between the page describing it and deciding it has
    ended: the page must then look again, not stop with the last progress line on it for good."""
    from awaken.dashboard.jobs import Job
    from awaken.dashboard.pages import JobPanel

    shown = []
    panel = JobPanel("race", shown.append)
    job = Job("key", "cohort", status="running")
    job.factory("analyses", 2, "designs")(1)
    describe = Job.describe

    def described_then_ended(self):
        text = describe(self)
        self._settle("done", result="tables")  # the last design finishes just after the line was written
        return text

    monkeypatch.setattr(Job, "describe", described_then_ended)
    panel.job = job
    panel._poll()
    assert not shown or ": done" in panel.status.object, panel.status.object
    panel._poll()
    assert shown == ["tables"] and "cohort: done" in panel.status.object


def test_a_job_ends_once_whichever_of_its_end_and_a_cancel_comes_first():
    from awaken.dashboard.jobs import Job

    job = Job("key", "work", status="running")
    assert job._settle("done", result=1) and job.status == "done"
    job.cancel()  # too late: the result stays
    assert job.status == "done" and job.result == 1
    job = Job("key", "work", status="running")
    job.cancel()
    assert not job._settle("done", result=1)  # the work ended after the cancel: its result is not kept
    assert job.status == "cancelled" and job.result is None and job.finished is not None
    assert not job._done.is_set()  # a running job is done when its work returns
    queued = Job("key", "work")
    queued.cancel()  # cancelled in the queue: nobody waits for work that may never run
    assert queued.wait(0).status == "cancelled" and queued._done.is_set()


def test_every_field_of_every_form_can_be_edited_and_comes_back_as_it_was_loaded():
    """No field is silently left out of a form: lists of choices, of names, and what has no widget of its
    own (treatments of several kinds, the trial's cohort keys) are editable, and load -> data is the identity."""
    from awaken.api.experiments import load_experiment
    from awaken.api.settings import SCHEMAS
    from awaken.api.trials import Trial, load_trial
    from awaken.cohort.parameters import CohortScenario
    from awaken.dashboard.forms import SchemaForm
    from awaken.dashboard.pages.trials import AS_YAML, KEPT, trial_files

    examples = trial_files(Path("."))
    cases = [(SCHEMAS["experiment"], ("parameters",), (), load_experiment("anti_cd4_influenza")),
             (SCHEMAS["population"], (), (), SCHEMAS["population"](n=500, seed=1)),
             (CohortScenario, ("parameters",), (), CohortScenario()),
             (Trial, KEPT, AS_YAML, load_trial(examples["il6r_blockade (example)"]))]
    for model, skip, as_yaml, loaded in cases:
        form = SchemaForm(model, skip=skip, as_yaml=as_yaml)
        shown = {path[0] for path in form.widgets}
        assert shown == set(model.model_fields) - set(skip), (model.__name__, set(model.model_fields) - shown)
        data = loaded.model_dump(mode="json")
        form.load(data)
        assert model.model_validate(form.data()) == loaded, model.__name__
    trial = SchemaForm(Trial, skip=KEPT, as_yaml=AS_YAML)
    assert type(trial.widgets[("endpoints",)]).__name__ == "MultiChoice"
    assert trial.widgets[("explanations",)].names and trial.widgets[("cohort",)].yaml
    lung = SchemaForm(SCHEMAS["experiment"], skip=("parameters",))
    lung.load(load_experiment("anti_cd4_influenza").model_dump(mode="json"))
    assert "anti_cd4" in lung.widgets[("treatments",)].value  # the treatments, as YAML
    lung.widgets[("treatments",)].value = ""  # an emptied box is the field's default: no treatments
    assert lung.data()["treatments"] == []


def test_a_form_refuses_text_that_is_not_yaml_and_an_emptied_optional_list_is_the_default():
    from awaken.api.trials import Trial, load_trial
    from awaken.dashboard.forms import SchemaForm, check
    from awaken.dashboard.pages.trials import AS_YAML, KEPT, trial_files

    loaded = load_trial(trial_files(Path("."))["il6r_blockade (example)"])
    form = SchemaForm(Trial, skip=KEPT, as_yaml=AS_YAML)
    form.load(loaded.model_dump(mode="json"))
    form.widgets[("eligibility", "subtypes")].value = []
    assert form.data()["eligibility"]["subtypes"] is None  # every subtype, as when the file leaves it out
    form.widgets[("endpoints",)].value = []
    with pytest.raises(InputError, match="endpoints"):
        check(form.data(), Trial)
    form.widgets[("cohort",)].value = "country: [uk"
    with pytest.raises(InputError, match=r"cohort: cannot parse: line 1, column 13"):
        form.data()
    # read as a scenario file is: duplicate keys refused, 1e1 a number, and 010 not silently octal
    form.widgets[("cohort",)].value = "country: uk\ncountry: us\n"
    with pytest.raises(InputError, match="cohort: cannot parse: .*duplicate key"):
        form.data()
    form.widgets[("cohort",)].value = ""  # emptied: the default, no cohort keys
    form.widgets[("parameters",)].value = "detection_window_days: 1e1\n"
    assert form.data()["parameters"] == {"detection_window_days": 10.0} and form.data()["cohort"] == {}
    form.widgets[("parameters",)].value = "x: 010\n"
    with pytest.raises(InputError, match="parameters: cannot parse"):
        form.data()


def test_the_trials_arms_box_and_its_timing_sliders_stay_in_step():
    from awaken.dashboard.app import Context
    from awaken.dashboard.pages import trials

    jobs = Jobs(inline=True)
    try:
        page = trials.TrialsPage(Context(Path("."), jobs))
        assert "tocilizumab" in page.arms_yaml.value and len(page._slider_paths) == 2  # il6r_blockade: two drugs
        _, _, slider = page._slider_paths[0]
        slider.value = (1.0, 3.5)  # a slider rewrites the box (the trial is read from the box alone)...
        assert yaml.safe_load(page.arms_yaml.value)[1]["interventions"][0]["start_after_symptoms_days"] == [1.0, 3.5]
        assert page.trial().arms[1].interventions[0].start_after_symptoms_days == (1.0, 3.5)
        arms = yaml.safe_load(page.arms_yaml.value)  # ...and an edited box redraws the sliders: a sarilumab arm
        arms.append({"name": "sarilumab", "interventions": [  # from day 4, after a vaccination in the same arm
            {"kind": "vaccination"}, {"kind": "drug_at_infection", "drug": "sarilumab", "dose": 200,
                                      "start_after_symptoms_days": [4, 6]}]})
        page.arms_yaml.value = yaml.safe_dump(arms, sort_keys=False)
        i, j, slider = page._slider_paths[-1]
        assert (i, j, slider.value) == (3, 1, (4.0, 6.0))  # numbered as the box lists them
        slider.value = (5.0, 7.0)
        written = yaml.safe_load(page.arms_yaml.value)[3]["interventions"]
        assert written[0] == {"kind": "vaccination"} and written[1]["start_after_symptoms_days"] == [5.0, 7.0]
        assert page.trial().arms[3].interventions[1].drug == "sarilumab"
        arms[3]["interventions"][1]["start_after_symptoms_days"] = [0, 40]  # beyond any slider: no slider, and
        page.arms_yaml.value = yaml.safe_dump(arms, sort_keys=False)       # the schema refuses it by name
        assert len(page._slider_paths) == 2
        with pytest.raises(InputError, match=r"start_after_symptoms_days = \[0, 40\]"):
            page.trial()
        page.arms_yaml.value = "- {name: control, interventions: 5}\n"  # not a list: no slider, no crash
        assert page._slider_paths == [] and "usual care" in page.arms.object
        page.arms_yaml.value = "- {name: control\n"  # not YAML: refused naming the field, before any work
        with pytest.raises(InputError, match=r"arms: cannot parse: line 2"):
            page.trial()
    finally:
        jobs.close()


def test_bad_options_exit_2_naming_the_flag(tmp_path):
    from typer.testing import CliRunner

    from awaken.cli import app

    result = CliRunner().invoke(app, ["dashboard", "--port", "0", "--runs-folder", str(tmp_path)])
    assert result.exit_code == 2
    assert "--port = 0: must be >= 1 and <= 65535" in result.output
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["dashboard", "--port", str(port), "--runs-folder", str(tmp_path)])
    assert result.exit_code == 2
    assert f"--port = {port}: cannot be served on 127.0.0.1:{port}" in result.output


def test_without_the_trials_api_the_trials_page_says_so(monkeypatch):
    from awaken.dashboard.app import Context
    from awaken.dashboard.pages import trials

    assert trials.available()  # this version has it
    monkeypatch.setattr(trials.importlib.util, "find_spec", lambda name: None)
    assert not trials.available()
    jobs = Jobs(inline=True)
    try:
        page = trials.TrialsPage(Context(Path("."), jobs))
        assert "trials: not available in this version" in page.panel[0].object
    finally:
        jobs.close()


# ---------------------------------------------------------------- in a browser
def _chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        path = None
    if path is None:
        if os.environ.get("AWAKEN_REQUIRE_BROWSER"):
            pytest.fail("AWAKEN_REQUIRE_BROWSER is set but Chromium (Debian's chromium) or Playwright is missing")
        pytest.skip("no Chromium: install Debian's chromium (apt-get install chromium) for the browser tests")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    """``awaken dashboard`` as a user starts it (a LocalCluster of one worker), in a fresh runs folder."""
    chromium = _chromium()
    runs = tmp_path_factory.mktemp("dashboard-runs")
    port = _free_port()
    log = open(runs.parent / "dashboard.log", "w")  # noqa: SIM115 - closed below
    started = time.monotonic()
    server = subprocess.Popen([sys.executable, "-m", "awaken.cli", "dashboard", "--port", str(port), "--runs-folder",
                               str(runs), "--workers", "1"], stdout=log, stderr=subprocess.STDOUT,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError(f"the dashboard stopped: {(runs.parent / 'dashboard.log').read_text()}")
                time.sleep(0.1)
        print(f"\ndashboard up in {time.monotonic() - started:.1f} s; screenshots in {ARTIFACTS}")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        yield {"url": url, "runs": runs, "chromium": chromium, "log": runs.parent / "dashboard.log",
               "pid": server.pid}
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture
def browser_page(dashboard):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=dashboard["chromium"], args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.errors = errors
        page.server_log, page.server_pid = dashboard["log"], dashboard["pid"]
        try:
            yield page
        finally:
            browser.close()


#: The text of an element and of every shadow root below it (Panel draws its components in shadow DOM).
_DEEP_TEXT = """e => { const walk = n => (['STYLE', 'SCRIPT'].includes(n.tagName) ? '' :
    (n.shadowRoot ? walk(n.shadowRoot) : '') +
    Array.from(n.childNodes).map(c => c.nodeType === 3 ? c.textContent : walk(c)).join(' ')); return walk(e); }"""


def _text(locator) -> str:
    return " ".join(locator.first.evaluate(_DEEP_TEXT).split())


def _shot(page, name: str) -> None:
    """A screenshot as a test artefact (and, on request, for the documentation)."""
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    if os.environ.get("AWAKEN_UPDATE_SCREENSHOTS") and name in DOCUMENTED:
        from PIL import Image

        Image.open(path).convert("RGB").quantize(256).save(DOCS / f"dashboard-{name}.png", optimize=True)


def _eventually(condition, seconds: float = 15) -> None:
    """Wait for what the server sent to be drawn."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not drawn in time"
        time.sleep(0.2)


def _open(page, dashboard, route: str) -> float:
    started = time.monotonic()
    page.goto(dashboard["url"] + route)
    page.wait_for_selector(".nav", timeout=60_000)
    page.wait_for_load_state("networkidle")
    return time.monotonic() - started


def _refused(page, name: str) -> str:
    """Click a page's Run with a bad value in its form: the field-named error the page shows instead."""
    page.locator(f".run-{name} button").click()
    error = page.locator(f".error-{name}")
    error.wait_for(state="visible", timeout=10_000)
    return _text(error)


def _run(page, name: str) -> str:
    """Click a page's Run and wait until its job is done (or taken from the cache); the status line."""
    status = page.locator(f".status-{name}")
    previous = _text(status)
    page.locator(f".run-{name} button").click()
    changed = time.monotonic() + 10
    while _text(status) == previous and time.monotonic() < changed:  # the click has reached the server
        time.sleep(0.1)
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        text = _text(status)
        if ": done" in text or "from the cache" in text:
            return text
        error = page.locator(f".error-{name}")
        if error.is_visible():
            raise AssertionError(_text(error))
        time.sleep(0.25)
    page.screenshot(path=ARTIFACTS / f"timeout-{name}.png", full_page=True)
    os.kill(page.server_pid, signal.SIGUSR1)  # the server prints every thread's stack (faulthandler)
    time.sleep(1)
    log = page.server_log.read_text(errors="replace")[-8000:]
    raise AssertionError(f"{name}: not done in {RUN_SECONDS} s ({_text(status)}); browser console errors: "
                         f"{page.errors or 'none'}; screenshot "
                         f"{ARTIFACTS / f'timeout-{name}.png'}; the server's log ends:\n{log}")


def test_every_page_loads_without_console_errors(dashboard, browser_page):
    times = {}
    for route in PAGES:
        times[route or "index"] = _open(browser_page, dashboard, route)
        assert browser_page.errors == [], (route, browser_page.errors)
        _shot(browser_page, f"page-{route or 'index'}")
    print("page load times (s):", {k: round(v, 2) for k, v in times.items()})


def test_a_bad_value_shows_the_field_named_error(dashboard, browser_page):
    _open(browser_page, dashboard, "lung")
    mice = browser_page.locator(".lung-mice input")
    mice.fill("0")
    mice.press("Enter")
    assert "mice = 0: must be >= 1 and <= 1000 mice" in _refused(browser_page, "lung")  # the CLI's and API's words
    _shot(browser_page, "lung-error")
    mice.fill("500")
    mice.press("Enter")
    browser_page.locator(".run-lung button").click()
    _eventually(lambda: "mice = 500: the dashboard runs at most 16" in _text(browser_page.locator(".error-lung")))
    assert browser_page.errors == []


def test_a_trials_arms_are_edited_as_yaml_and_a_dose_out_of_range_names_the_range(dashboard, browser_page):
    _open(browser_page, dashboard, "trials")
    browser_page.locator(".trial-arms-card .card-header").first.click()
    box = browser_page.locator(".trial-arms-yaml textarea")
    box.wait_for(state="visible", timeout=10_000)
    text = box.input_value()
    assert "dose: 8.0" in text and "start_after_symptoms_days" in text
    box.fill(text.replace("dose: 8.0", "dose: 80.0"))
    box.blur()
    from awaken.pharmacology.drugs import load_drug_table

    low, high = load_drug_table().drug("tocilizumab").dose_range
    assert f"dose = 80: must be >= {low:g} and <= {high:g} mg/kg for tocilizumab" in _refused(browser_page, "trial")
    _shot(browser_page, "trials-arms-error")
    assert browser_page.errors == []


@pytest.mark.slow
def test_the_lung_runs_and_a_changed_control_changes_the_plot(dashboard, browser_page):
    _open(browser_page, dashboard, "lung")
    plot = browser_page.locator(".plot-dcc-burden")
    first = _run(browser_page, "lung")
    browser_page.locator(".lung-scorecard .verdict").first.wait_for(timeout=10_000)
    assert "FAIL" not in _text(browser_page.locator(".lung-scorecard"))
    time.sleep(1.5)  # the figure is drawn after the status line
    before = plot.screenshot()
    _shot(browser_page, "lung-influenza")
    # switch off CD4 suppression: the curves move and the scorecard says which targets need it
    browser_page.locator(".lung-mechanisms-cd4_suppression input").uncheck()
    _run(browser_page, "lung")
    _eventually(lambda: plot.screenshot() != before)
    _eventually(lambda: "FAIL" in _text(browser_page.locator(".lung-scorecard")))
    _shot(browser_page, "lung-no-cd4-suppression")
    # the same scenario again comes back from the cache at once
    browser_page.locator(".lung-mechanisms-cd4_suppression input").check()
    started = time.monotonic()
    assert "from the cache" in _run(browser_page, "lung")
    print(f"lung: first run {first!r}; cached run shown in {time.monotonic() - started:.2f} s")
    assert browser_page.errors == []


@pytest.mark.slow
def test_the_population_page_draws_distributions_and_a_run_can_be_cancelled(dashboard, browser_page):
    _open(browser_page, dashboard, "population")
    plot = browser_page.locator(".plot-population")
    browser_page.locator(".population-n input").fill("200")
    browser_page.locator(".population-n input").press("Enter")
    _run(browser_page, "population")
    _eventually(lambda: "acceptance rate" in _text(browser_page.locator(".population-summary")))
    time.sleep(1.5)  # the figure is drawn after the status line
    before = plot.screenshot()
    browser_page.locator(".population-readout select").select_option("il6_pg_per_ml")
    _eventually(lambda: browser_page.locator(".plot-population").screenshot() != before)
    _shot(browser_page, "population")
    # a long run shows its progress and can be cancelled: the page stops waiting, the plot stays as it was
    drawn = browser_page.locator(".plot-population").screenshot()
    browser_page.locator(".population-n input").fill("5000")
    browser_page.locator(".population-n input").press("Enter")
    browser_page.locator(".run-population button").click()
    cancel = browser_page.locator(".cancel-population button")
    cancel.wait_for(state="visible", timeout=10_000)
    assert browser_page.locator("progress.progress-population").is_visible()
    cancel.click()
    _eventually(lambda: "cancelled" in _text(browser_page.locator(".status-population")))
    assert browser_page.locator(".plot-population").screenshot() == drawn
    assert browser_page.errors == []


@pytest.mark.slow
def test_the_cohort_page_runs_both_designs_and_the_run_is_browsable(dashboard, browser_page):
    _open(browser_page, dashboard, "cohort")
    browser_page.locator(".cohort-n input").fill("20000")
    browser_page.locator(".cohort-n input").press("Enter")
    _run(browser_page, "cohort")
    _eventually(lambda: "odds ratio" in _text(browser_page.locator(".cohort-results")))
    assert "lung metastasis" in _text(browser_page.locator(".cohort-results"))
    time.sleep(2)  # the incidence curves are drawn after the tables
    _shot(browser_page, "cohort")
    runs = [p.name for p in dashboard["runs"].iterdir()]
    assert len(runs) == 1 and runs[0].startswith("dashboard-cohort-")
    _open(browser_page, dashboard, "runs")
    browser_page.locator(".runs-choice select").select_option(runs[0])
    time.sleep(1)
    _eventually(lambda: "patients" in _text(browser_page.locator(".runs-files")))
    assert "cohort" in _text(browser_page.locator(".runs-table"))
    _shot(browser_page, "runs")
    assert browser_page.errors == []


@pytest.mark.slow
def test_the_trials_page_runs_a_trial_with_its_outcome_curves_and_window_of_opportunity(dashboard, browser_page):
    _open(browser_page, dashboard, "trials")
    assert "tocilizumab" in _text(browser_page.locator(".trial-arms"))
    assert browser_page.locator(".trial-timing-tocilizumab").count()  # the timing slider of the drug arm
    size = browser_page.locator(".trial-size input")
    size.fill("50")
    size.press("Enter")
    assert "size = 50: must be >= 100 and <= 10000000 participants" in _refused(browser_page, "trial")
    size.fill("300")
    size.press("Enter")
    _run(browser_page, "trial")
    _eventually(lambda: "risk difference" in _text(browser_page.locator(".trial-effects")))
    time.sleep(1.5)
    before = browser_page.locator(".plot-trial").screenshot()
    browser_page.locator(".trial-explanation select").select_option("awakening")
    _eventually(lambda: browser_page.locator(".plot-trial").screenshot() != before)  # the curves' title at least
    _shot(browser_page, "trials")
    assert browser_page.errors == []
