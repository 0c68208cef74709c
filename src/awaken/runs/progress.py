"""Progress bars for long runs, made in one place.

Everything that takes long (experiments, virtual populations, cohort blocks, power replicates, a
fit's phases) reports through a :data:`ProgressFactory`: called with a description, a total and a
unit, it returns ``advance(n)``. The command line passes :func:`rich_progress` (one bar per phase:
items done, rate, time elapsed and left); the Python API takes ``progress=True`` for the same bars,
a factory of one's own, or nothing (silence).

Example
-------
>>> with progress_bars(False) as bar:
...     advance = bar("mice", total=4, unit="mice")
...     advance(4)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = ["ProgressFactory", "Advance", "no_progress", "rich_progress", "progress_bars"]

Advance = Callable[[int], None]


class ProgressFactory(Protocol):
    def __call__(self, description: str, total: int, unit: str = "items") -> Advance: ...


def no_progress(description: str, total: int, unit: str = "items") -> Advance:  # noqa: ARG001
    return lambda n: None


class _RateColumn(ProgressColumn):
    """Items per second, in the phase's unit."""

    def render(self, task: Task) -> Text:
        if task.speed is None:
            return Text("")
        rate = f"{task.speed:,.0f}" if task.speed >= 100 else f"{task.speed:.2f}"
        return Text(f"{rate} {task.fields.get('unit', 'items')}/s", style="progress.data.speed")


@contextlib.contextmanager
def rich_progress(console: Console | None = None) -> Iterator[ProgressFactory]:
    """Rich progress bars on ``console`` (default: standard error), one per phase."""
    columns = (TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[unit]}", markup=False), _RateColumn(), TimeElapsedColumn(), TextColumn("left"),
               TimeRemainingColumn())
    display = Progress(*columns, console=console or Console(stderr=True), transient=False)

    def factory(description: str, total: int, unit: str = "items") -> Advance:
        if not display.live.is_started:  # shown from the first bar on: an input error prints no empty display
            display.start()
        task = display.add_task(description, total=total, unit=unit)
        return lambda n: display.advance(task, n)

    try:
        yield factory
    finally:
        if display.live.is_started:
            display.stop()


@contextlib.contextmanager
def progress_bars(progress: bool | ProgressFactory | None) -> Iterator[ProgressFactory]:
    """``True``: rich bars; ``False``/``None``: none; a factory: that factory."""
    if progress is True:
        with rich_progress() as factory:
            yield factory
    elif not progress:
        yield no_progress
    else:
        yield progress
