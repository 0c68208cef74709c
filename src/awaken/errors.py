"""What went wrong with an input, said for the person who gave it.

:class:`InputError` carries problems (:class:`Problem`): the field (as the Python API spells it), the value
given, what is wrong and, where one exists, the field whose use would allow it (``remedy``). The
command line renders the same problems with its flag names (:meth:`InputError.render`).

Example
-------
>>> error = InputError.field("out", "already holds an awaken run; choose a new directory", "runs/a",
...                          remedy="overwrite")
>>> print(error)
out = "runs/a": already holds an awaken run; choose a new directory or pass overwrite=True
>>> print(error.render({"out": "--out", "overwrite": "--overwrite"}))
--out = "runs/a": already holds an awaken run; choose a new directory or pass --overwrite
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["InputError", "Problem", "format_value", "MISSING"]

#: Longest rendering of a given value inside a message.
_VALUE_CHARS = 80
#: A problem whose value is not shown.
MISSING: Any = object()
_MISSING = MISSING


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: the field (dotted path; None for the input as a whole), the
    value given, what is wrong, and optionally the field whose use would allow it (``remedy``)."""

    field: str | None
    message: str
    value: Any = _MISSING
    remedy: str | None = None

    def render(self, flags: Mapping[str, str] | None = None) -> str:
        label = (flags or {}).get(self.field, self.field) if self.field else None
        text = self.message
        if self.remedy:
            flag = (flags or {}).get(self.remedy)
            text += f" or pass {flag}" if flag else f" or pass {self.remedy}=True"
        if label is None:
            return text
        if self.value is _MISSING:
            return f"{label}: {text}"
        return f"{label} = {format_value(self.value)}: {text}"


class InputError(ValueError):
    """An input file, option or argument is invalid; ``problems`` say which field and why.

    ``str(error)`` names fields as the Python API spells them; :meth:`render` with a mapping from
    field names to command-line flags gives the command line's wording.
    """

    def __init__(self, problems: str | Problem | Sequence[Problem], source: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem(None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.source = source
        super().__init__(self.render())

    @classmethod
    def field(cls, field: str, message: str, value: Any = _MISSING, remedy: str | None = None) -> InputError:
        """An error about one field: ``InputError.field("n", "must be >= 1", 0)``."""
        return cls(Problem(field, message, value, remedy))

    def render(self, flags: Mapping[str, str] | None = None) -> str:
        lines = [p.render(flags) for p in self.problems]
        if self.source is not None:
            return f"{self.source} is not valid:\n" + "\n".join(f"  - {line}" for line in lines)
        if len(lines) == 1:
            return lines[0]
        return "invalid input:\n" + "\n".join(f"  - {line}" for line in lines)

    def __str__(self) -> str:
        return self.render()


def format_value(value: Any) -> str:
    """A given value as a message shows it: JSON-like, at most a line long."""
    if isinstance(value, Path):
        text = str(value)
    else:
        try:
            text = json.dumps(value, default=str)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 1] + "…"


