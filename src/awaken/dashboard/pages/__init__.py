"""The dashboard's pages, one module each: lung, population, cohort, trials, runs.

Every page is a class built per browser session from the shared :class:`~awaken.dashboard.app.Context`
(the runs folder, the background jobs); :class:`JobPanel` is what they share: the run button's
progress bar, status line, cancel button and the field-named error box.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import panel as pn

from awaken.dashboard.forms import error_lines
from awaken.dashboard.jobs import Job
from awaken.errors import InputError

__all__ = ["JobPanel", "POLL_MS"]

#: How often a page looks at its running job.
POLL_MS = 300


class JobPanel:
    """Progress, status, cancel and errors of the job a page runs; calls ``show(result)`` when it is done."""

    def __init__(self, name: str, show: Callable[[Any], None]) -> None:
        self.name = name
        self.show = show
        self.job: Job | None = None
        self._callback: Any = None
        self.progress = pn.indicators.Progress(value=0, max=1000, width=300, visible=False,
                                               css_classes=[f"progress-{name}"])
        self.status = pn.pane.Markdown("", css_classes=[f"status-{name}"], margin=(0, 10))
        self.cancel = pn.widgets.Button(label="Cancel", color="warning", visible=False,
                                        css_classes=[f"cancel-{name}"])
        self.cancel.on_click(lambda _: self._cancel())
        self.errors = pn.pane.Alert("", alert_type="danger", visible=False, css_classes=[f"error-{name}", "input-error"])
        self.panel = pn.Column(pn.Row(self.progress, self.cancel), self.status, self.errors)
        if pn.state.curdoc is not None:  # a closed browser tab stops the polling (the job itself runs on)
            pn.state.on_session_destroyed(lambda _: self._stop())

    def refuse(self, error: InputError) -> None:
        """Show an input error (the schema's field-named problems) and nothing else."""
        self.errors.object = "**Not run - invalid input:**\n\n" + error_lines(error)
        self.errors.visible = True
        self.status.object = ""

    def follow(self, job: Job) -> None:
        """Show ``job``'s progress until it ends (at once if it is finished: a cached result)."""
        self.errors.visible = False
        self.job = job
        if job.status == "done":
            self.status.object = f"{job.label}: from the cache (same scenario seen before)"
            self.show(job.result)
            return
        self.progress.visible = self.cancel.visible = True
        self._stop()
        self._callback = pn.state.add_periodic_callback(self._poll, period=POLL_MS)
        self._poll()

    def _poll(self) -> None:
        job = self.job
        if job is None:
            return
        # The job runs in another thread: whether it is still active is read once, before it is described.
        # Read after, a job ending in between would leave its last progress line on the page for good.
        active = job.active
        self.progress.value = int(1000 * job.fraction)
        self.status.object = job.describe()
        if active:
            return
        self._stop()
        self.progress.visible = self.cancel.visible = False
        if job.status == "done":
            self.show(job.result)
        elif job.status == "failed":
            self.errors.object = f"**{job.label} failed:**\n\n{job.error}"
            self.errors.visible = True

    def _cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self._poll()

    def _stop(self) -> None:
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
