"""The runs page: earlier run directories in the dashboard's runs folder, with their provenance.

Only directories inside the runs folder that hold an awaken ``run.json`` are listed and read
(:func:`awaken.dashboard.settings.inside` refuses anything that resolves elsewhere, links included).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import panel as pn

from awaken.dashboard.settings import inside
from awaken.runs.provenance import read_provenance

__all__ = ["RunsPage", "find_runs"]

#: Most run directories listed.
MAX_RUNS = 500


def find_runs(folder: Path, depth: int = 2) -> list[tuple[str, dict[str, Any]]]:
    """(path relative to ``folder``, provenance) of every awaken run up to ``depth`` levels down, newest first."""
    found: list[tuple[str, dict[str, Any]]] = []

    def walk(directory: Path, level: int) -> None:
        try:
            children = sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
        except OSError:
            return
        for child in children:
            if len(found) >= MAX_RUNS:
                return
            try:
                inside(folder, child.relative_to(folder))
            except Exception:
                continue
            record = read_provenance(child)
            if record is not None:
                found.append((str(child.relative_to(folder)), record))
            elif level < depth:
                walk(child, level + 1)

    walk(folder, 1)
    return sorted(found, key=lambda item: str(item[1].get("started", "")), reverse=True)


class RunsPage:
    def __init__(self, context: Any) -> None:
        self.folder: Path = context.runs_folder
        self.table = pn.pane.DataFrame(pd.DataFrame(), index=False, sizing_mode="stretch_width",
                                       css_classes=["runs-table"])
        self.choice = pn.widgets.Select(label="run", options=[], css_classes=["runs-choice"])
        self.refresh = pn.widgets.Button(label="Refresh", css_classes=["runs-refresh"])
        self.provenance = pn.pane.JSON({}, depth=2, theme="light", css_classes=["runs-provenance"],
                                       sizing_mode="stretch_width")
        self.files = pn.pane.Markdown("", css_classes=["runs-files"])
        self.refresh.on_click(lambda _: self.load())
        self.choice.param.watch(lambda _: self.show(), "value")
        self.load()
        self.panel = pn.Column(
            pn.pane.Markdown(f"### Runs in `{self.folder}`\nEvery awaken run directory here (two levels deep), "
                             f"newest first, with its provenance (`run.json`)."),
            self.refresh, self.table, self.choice, pn.Row(self.provenance, self.files), sizing_mode="stretch_width")

    def load(self) -> None:
        runs = find_runs(self.folder)
        self.runs = dict(runs)
        self.table.object = pd.DataFrame([{"run": name, "kind": r.get("kind", ""), "started": r.get("started", ""),
                                           "seed": r.get("seed", ""), "awaken": r.get("awaken_version", ""),
                                           "command": " ".join(map(str, r.get("command") or []))[:100]}
                                          for name, r in runs])
        self.choice.options = [name for name, _ in runs]
        self.show()

    def show(self) -> None:
        name = self.choice.value
        if not name or name not in self.runs:
            self.provenance.object, self.files.object = {}, "no runs yet" if not self.runs else ""
            return
        path = inside(self.folder, name)
        self.provenance.object = self.runs[name]
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())[:200]  # no links out
        self.files.object = "**Files**\n\n" + "\n".join(f"- `{p.relative_to(path)}` ({p.stat().st_size:,} bytes)"
                                                      for p in files)
