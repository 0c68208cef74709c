"""Where independent tasks run: in this process, on a local Dask cluster, or on a cluster you have.

Cohort blocks and power replicates are independent tasks whose results do not depend on where they
ran (their random numbers are keyed by person and replicate, not by worker). :class:`Execution`
runs a list of them:

* ``inline=True``: one after the other in this process (small runs, tests, debugging);
* by default: on a Dask ``LocalCluster`` of ``workers`` single-threaded processes, started for the
  call and shut down after it;
* ``scheduler="tcp://HOST:PORT"``: on an existing Dask cluster (its workers must see the output
  directory: a shared file system).

The settings are checked when an :class:`Execution` is made, before any work: the worker count
must be 1-256 and a scheduler address must be well formed and answer on its port within a few
seconds, so a typo fails at once instead of after the first simulation.

Example
-------
>>> Execution(inline=True).map(pow, [(2, 3), (3, 2)])
[8, 9]
"""

from __future__ import annotations

import contextlib
import re
import socket
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from awaken.errors import InputError
from awaken.runs.progress import Advance

__all__ = ["Execution", "MAX_WORKERS", "check_scheduler", "solver_threads"]

MAX_WORKERS = 256
#: Seconds a scheduler has to answer on its port.
CONNECT_SECONDS = 5.0
_ADDRESS = re.compile(r"^(?:(?P<scheme>tcp|tls)://)?(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.\-]+):(?P<port>\d{1,5})$")


def check_scheduler(address: str, field: str = "scheduler") -> str:
    """Check that ``address`` is a Dask scheduler address that answers; return it."""
    address = address.strip()
    if address.startswith("inproc://"):
        return address  # an in-process cluster of this interpreter (tests, notebooks)
    match = _ADDRESS.match(address)
    if match is None or not 0 < int(match["port"]) < 65536:
        raise InputError.field(field, "not a Dask scheduler address; give tcp://HOST:PORT (e.g. tcp://10.0.0.1:8786)",
                               address)
    host = match["host"].strip("[]")
    try:
        with socket.create_connection((host, int(match["port"])), timeout=CONNECT_SECONDS):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise InputError.field(field, f"no scheduler answers there ({reason}); start one with `dask scheduler` or "
                                      f"leave the option out for a local cluster", address) from None
    return address


class Execution:
    """Runs independent tasks inline, on a local Dask cluster or on an existing one (see module)."""

    def __init__(self, workers: int = 2, scheduler: str | None = None, inline: bool = False) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
            raise InputError.field("workers", f"must be >= 1 and <= {MAX_WORKERS}", workers)
        self.workers = workers
        self.inline = inline
        self.scheduler = check_scheduler(scheduler) if scheduler and not inline else None

    @property
    def description(self) -> dict[str, Any]:
        """How the tasks ran, for provenance."""
        if self.inline:
            return {"executor": "inline"}
        if self.scheduler:
            return {"executor": "dask", "scheduler": self.scheduler}
        return {"executor": "dask", "local_workers": self.workers}

    def map(self, function: Callable[..., Any], tasks: Sequence[tuple[Any, ...]], *,
            shared: Mapping[str, Any] | None = None, weights: Sequence[int] | None = None,
            advance: Advance | None = None, name: str = "awaken") -> list[Any]:
        """``[function(*task, **shared) for task in tasks]``, in task order whatever the order of
        completion. ``shared`` values go to every task (sent to each Dask worker once);
        ``advance(weight)`` is called as each task finishes (weight 1 unless ``weights`` says)."""
        shared = dict(shared or {})
        weights = list(weights) if weights is not None else [1] * len(tasks)
        if self.inline:
            results = []
            for task, weight in zip(tasks, weights):
                results.append(function(*task, **shared))
                if advance is not None:
                    advance(weight)
            return results
        return self._map_dask(function, tasks, shared, weights, advance, name)

    def _map_dask(self, function, tasks, shared, weights, advance, name) -> list[Any]:
        from dask.distributed import Client, LocalCluster, as_completed

        cluster = None
        if self.scheduler:
            client = Client(self.scheduler, timeout=f"{CONNECT_SECONDS:g}s")
        else:
            cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=40)
            client = Client(cluster)
        try:
            scattered = {k: client.scatter(v, broadcast=True) for k, v in shared.items()}
            run = uuid.uuid4().hex[:6]
            futures = {client.submit(function, *task, **scattered, key=f"{name}-{run}-{i}", pure=False): i
                       for i, task in enumerate(tasks)}
            results: list[Any] = [None] * len(tasks)
            for future in as_completed(futures):
                i = futures[future]
                results[i] = future.result()
                if advance is not None:
                    advance(weights[i])
            return results
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


@contextlib.contextmanager
def solver_threads(threads: int | None) -> Iterator[None]:
    """Use ``threads`` threads in the compiled solvers inside the block (None: leave them as they are,
    every core by default), within numba's limit; the previous number is restored after it."""
    if threads is None:
        yield
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise InputError.field("threads", "must be >= 1", threads)
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(previous)
