"""Panel vs Dash for ``awaken dashboard``: time to import, to serve, to the first page with a plot, and memory.

The same small page in each framework - a heading, a slider, a number box and a log-scale plot of
four mice over 366 days, redrawn when the slider moves - served on 127.0.0.1 and opened in Debian's
headless Chromium (Playwright). Each framework lives in its own virtual environment beside the
project's pinned numpy 2.4.6 / pandas 3.1.1::

    python3 -m venv /tmp/vpanel && /tmp/vpanel/bin/pip install numpy==2.4.6 pandas==3.1.1 panel==1.9.4
    python3 -m venv /tmp/vdash && /tmp/vdash/bin/pip install numpy==2.4.6 pandas==3.1.1 dash==4.4.1 plotly==7.1.0
    .venv/bin/python benchmarks/dashboard_frameworks.py --panel /tmp/vpanel/bin/python --dash /tmp/vdash/bin/python

Measured on the 2-core CI machine (2026-12-01, two runs each, docs/dashboard.md): Panel 1.9.4 imports in
0.74-0.79 s, serves in 0.86-0.91 s, shows the first page with its plot in 1.16-1.23 s (reload 0.44-0.49 s),
server RSS 114-115 MiB; Dash 4.4.1 imports in 0.34-0.38 s, serves in 0.47 s, first page with its plot
2.28-2.29 s (reload 0.41-0.42 s), RSS 121-125 MiB. No console errors in either.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]

PANEL_APP = '''
import time, sys
t0 = time.perf_counter()
import numpy as np
import panel as pn
from bokeh.plotting import figure
print(f"IMPORT {time.perf_counter() - t0:.3f}", flush=True)
pn.extension()
days = np.arange(366)
def make(k):
    p = figure(height=300, width=600, y_axis_type="log", title="dcc")
    for m in range(4):
        p.line(days, np.exp(days / 50.0 * k + m * 0.1), legend_label=f"mouse {m}")
    return p
slider = pn.widgets.FloatSlider(name="k", start=0.1, end=2, value=1)
mice = pn.widgets.IntInput(name="mice", value=4, start=1, end=8)
def page():
    return pn.Column(pn.pane.Markdown("# lung"), slider, mice, pn.bind(lambda k: pn.pane.Bokeh(make(k)), slider))
pn.serve({"/": page}, port=int(sys.argv[1]), address="127.0.0.1", show=False)
'''

DASH_APP = '''
import time, sys
t0 = time.perf_counter()
import numpy as np
from dash import Dash, dcc, html, Input, Output
import plotly.graph_objects as go
print(f"IMPORT {time.perf_counter() - t0:.3f}", flush=True)
days = np.arange(366)
app = Dash(__name__)
app.layout = html.Div([html.H1("lung"), dcc.Slider(0.1, 2, value=1, id="k"), dcc.Input(id="mice", type="number", value=4),
                       dcc.Graph(id="g")])
@app.callback(Output("g", "figure"), Input("k", "value"))
def update(k):
    fig = go.Figure([go.Scatter(x=days, y=np.exp(days / 50.0 * k + m * 0.1), name=f"mouse {m}") for m in range(4)])
    fig.update_yaxes(type="log")
    return fig
app.run(port=int(sys.argv[1]), host="127.0.0.1", debug=False)
'''


def measure(python: str, source: str, port: int, selector: str) -> str:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "app.py"
        app.write_text(source)
        started = time.perf_counter()
        server = subprocess.Popen([python, str(app), str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True)
        try:
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                    break
                except OSError:
                    time.sleep(0.05)
            up = time.perf_counter() - started
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
                page = browser.new_page()
                errors: list[str] = []
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                t = time.perf_counter()
                page.goto(f"http://127.0.0.1:{port}/")
                page.wait_for_selector(selector, timeout=30_000)
                first = time.perf_counter() - t
                t = time.perf_counter()
                page.reload()
                page.wait_for_selector(selector, timeout=30_000)
                reload = time.perf_counter() - t
                browser.close()
            rss = int(Path(f"/proc/{server.pid}/status").read_text().split("VmRSS:")[1].split()[0]) / 1024
        finally:
            server.terminate()
            output = server.communicate(timeout=10)[0]
    imported = next((line.split()[1] for line in output.splitlines() if line.startswith("IMPORT")), "?")
    return (f"import {imported} s, serving after {up:.2f} s, first page with plot {first:.2f} s, reload {reload:.2f} s, "
            f"server RSS {rss:.0f} MiB, console errors: {len(errors)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--panel", required=True, help="a Python with panel installed")
    parser.add_argument("--dash", required=True, help="a Python with dash and plotly installed")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    for _ in range(args.repeats):
        print("panel:", measure(args.panel, PANEL_APP, 5111, ".bk-Canvas, canvas"))
        print("dash: ", measure(args.dash, DASH_APP, 5112, ".js-plotly-plot .main-svg"))


if __name__ == "__main__":
    main()
