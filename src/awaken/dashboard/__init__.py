"""``awaken dashboard``: the laboratory in a browser - the lung, virtual populations, the cohort, the
trials and earlier runs, as pages of a local web app (Panel, on Bokeh and Tornado).

The dashboard sits beside the command line at the top of the house: it reaches the science only
through :mod:`awaken.api` (an import contract checks it), its forms are made from the same schemas
(so a bad value gets the same field-named message), and its work runs on the runs layer (a Dask
cluster, or this process) in the background, with progress, cancelling and a cache by scenario
hash. Safe by default: it binds to 127.0.0.1 and reads and writes only inside its runs folder.
Why Panel, what is measured and how it is tested: ``docs/dashboard.md``.

Modules: :mod:`~awaken.dashboard.app` (server, routes), :mod:`~awaken.dashboard.settings` (options,
caps, the runs folder's rules), :mod:`~awaken.dashboard.jobs` (background work),
:mod:`~awaken.dashboard.tasks` (the units of work), :mod:`~awaken.dashboard.forms` (forms from
schemas), :mod:`~awaken.dashboard.plots`, :mod:`~awaken.dashboard.pages` (one module per page).
"""

from __future__ import annotations

__all__ = ["serve"]


def serve(*args, **kwargs):  # noqa: ANN002, ANN003 - the app's signature (imported lazily: Panel is heavy)
    from awaken.dashboard.app import serve as _serve

    return _serve(*args, **kwargs)
