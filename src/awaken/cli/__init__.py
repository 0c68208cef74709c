"""The ``awaken`` command line: parse, call the Python API, print.

Every command is a few lines around its twin in :mod:`awaken.api`. Input is checked there, by the
schemas, before any work starts; a bad value exits with status 2 and the schema's message, with
field names turned into the command's flags (``output_days`` -> ``--output-days``). Help texts
take their ranges and units from the same schemas. Commands live by subject:
:mod:`~awaken.cli.lung`, :mod:`~awaken.cli.standards`, :mod:`~awaken.cli.cohort`, :mod:`~awaken.cli.dashboard`; what they share
is in :mod:`~awaken.cli.apps`.
"""

from awaken.cli import cohort, dashboard, lung, standards, trials  # noqa: F401  (the modules register their commands)
from awaken.cli.apps import app

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover - console entry point
    app()
