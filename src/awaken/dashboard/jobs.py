"""Work off the page: background jobs on the runs layer, with progress, cancelling and a cache.

A page never runs a simulation itself. It submits a :class:`Job` to :class:`Jobs`, which runs it
in a background thread; the heavy part goes through :class:`awaken.runs.execution.Execution`: a
Dask cluster (the dashboard's own ``LocalCluster``, started once, or ``--scheduler``), or this
process (``--inline``). The page polls the job (progress phases, status) on a timer, so it stays
responsive.

* **Progress**: every phase reports through the API's progress factory (:meth:`Job.factory`): per
  mouse, individual or cohort block when the work runs in this process, per finished task on a
  Dask cluster.
* **Cancelling**: :meth:`Job.cancel` marks the job cancelled at once (the page stops waiting, the
  result is never shown or cached); the work stops at its next progress report (the next mouse or
  block inline; the next finished task on Dask, whose running task cannot be interrupted).
* **Cache**: a finished job is kept under its key (the scenario's SHA-256 and the run settings),
  so a page that was seen comes back at once; a job already running under a key is shared.

Example
-------
>>> jobs = Jobs(inline=True)
>>> job = jobs.submit("square", "a square", lambda job: jobs.map(job, pow, [(3, 2)], "squares")[0])
>>> job.wait(10).result, jobs.submit("square", "again", lambda job: 0) is job
(9, True)
>>> jobs.close()
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from awaken.errors import InputError
from awaken.runs.execution import Execution, check_scheduler

__all__ = ["Job", "Jobs", "Cancelled"]

#: Finished jobs kept in memory (least recently used go first).
CACHE_SIZE = 64


class Cancelled(Exception):
    """Raised inside a job's work at its next progress report after :meth:`Job.cancel`."""


@dataclass
class Phase:
    description: str
    total: int
    unit: str
    done: int = 0


@dataclass
class Job:
    """One piece of work: its phases of progress, status, result or error."""

    key: str
    label: str
    status: str = "queued"  # queued, running, done, failed, cancelled
    phases: list[Phase] = field(default_factory=list)
    result: Any = None
    error: str | None = None
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # one status change at a time

    def factory(self, description: str, total: int, unit: str = "items") -> Callable[[int], None]:
        """The API's progress factory (:class:`awaken.runs.progress.ProgressFactory`) for this job."""
        self._check()
        phase = Phase(description, int(total), unit)
        self.phases.append(phase)

        def advance(n: int) -> None:
            phase.done += n
            self._check()

        return advance

    def _check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled(self.label)

    def cancel(self) -> None:
        self._cancel.set()
        self._settle("cancelled")

    def _settle(self, status: str, *, result: Any = None, error: str | None = None) -> bool:
        """End the job as ``status`` unless it has ended already (a cancel and the work's own end may race)."""
        with self._lock:
            if not self.active:
                return False
            never_started = self.status == "queued"
            self.result, self.error, self.finished = result, error, time.monotonic()
            self.status = status  # last: a reader that sees the job ended finds its result
        if never_started:  # cancelled in the queue: its work may never run (the pool shut down), so it ends here
            self._done.set()
        return True

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def fraction(self) -> float:
        """Progress of the current phase, 0-1."""
        if not self.phases:
            return 0.0
        phase = self.phases[-1]
        return min(1.0, phase.done / phase.total) if phase.total else 1.0

    def describe(self) -> str:
        """One line for the page: status, current phase, time."""
        seconds = (self.finished or time.monotonic()) - self.started
        if not self.phases or not self.active:
            return f"{self.label}: {self.status} ({seconds:.1f} s)"
        phase = self.phases[-1]
        return (f"{self.label}: {phase.description} {phase.done}/{phase.total} {phase.unit} "
                f"(phase {len(self.phases)}, {seconds:.1f} s)")

    def wait(self, timeout: float | None = None) -> Job:
        self._done.wait(timeout)
        return self


class Jobs:
    """Runs jobs in background threads on the runs layer; keeps finished ones by key (see module).

    ``scheduler``: an existing Dask scheduler; otherwise a ``LocalCluster`` of ``workers`` processes
    is started on first use; ``inline=True`` runs the work in this process."""

    def __init__(self, *, scheduler: str | None = None, workers: int = 2, inline: bool = False,
                 threads: int = 2) -> None:
        self.inline = inline
        self.workers = workers
        self.scheduler = check_scheduler(scheduler) if scheduler and not inline else None
        Execution(workers=workers, inline=True)  # checks the worker count before anything starts
        self._cluster: Any = None
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="awaken-dashboard")

    # ------------------------------------------------------------ where the work runs
    @property
    def address(self) -> str | None:
        """The Dask scheduler the work goes to (None: inline)."""
        if self.inline:
            return None
        if self.scheduler:
            return self.scheduler
        with self._lock:
            if self._cluster is None:
                from dask.distributed import LocalCluster

                self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                             dashboard_address=None, silence_logs=40)
            return self._cluster.scheduler_address

    def describe(self) -> str:
        if self.inline:
            return "inline (in the dashboard's process)"
        if self.scheduler:
            return f"Dask scheduler {self.scheduler}"
        return f"Dask LocalCluster of {self.workers} worker process(es), started on first use"

    def execution(self) -> Execution:
        return Execution(inline=True) if self.inline else Execution(scheduler=self.address)

    def map(self, job: Job, function: Callable[..., Any], tasks: Sequence[tuple[Any, ...]], description: str, *,
            progress: bool = False) -> list:
        """``function(*task)`` for every task through the runs layer; progress and cancelling through ``job``.
        ``progress``: the function takes the API's ``progress=`` factory (given when it runs inline)."""
        advance = job.factory(description, len(tasks), "tasks")
        shared = {"progress": job.factory} if self.inline and progress else {}
        return self.execution().map(function, tasks, shared=shared, advance=advance, name="dashboard")

    # ------------------------------------------------------------ jobs
    def get(self, key: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(key)
            if job is not None:
                self._jobs.move_to_end(key)
            return job

    def submit(self, key: str, label: str, work: Callable[[Job], Any]) -> Job:
        """The job under ``key``: a finished or running one if there is one, else ``work(job)`` in the background."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and job.status in ("queued", "running", "done"):
                self._jobs.move_to_end(key)
                return job
            job = Job(key, label)
            self._jobs[key] = job
            while len(self._jobs) > CACHE_SIZE:
                oldest = next(iter(self._jobs))
                if self._jobs[oldest].active:
                    break
                self._jobs.pop(oldest)
        self._pool.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Callable[[Job], Any]) -> None:
        try:
            with job._lock:
                if job.status != "queued":  # cancelled before it started
                    return
                job.status = "running"
                job.started = time.monotonic()
            job._settle("done", result=work(job))
        except Cancelled:
            job._settle("cancelled")
        except InputError as err:
            job._settle("failed", error=str(err))
        except Exception as err:  # shown on the page; the dashboard keeps serving
            job._settle("failed", error=f"{type(err).__name__}: {err}")
            traceback.print_exc()
        finally:
            job._settle("failed", error="ended without a result")  # only if nothing above settled it
            if job.status != "done":
                with self._lock:
                    if self._jobs.get(job.key) is job:
                        self._jobs.pop(job.key)
            job._done.set()

    def close(self) -> None:
        """Cancel what runs, stop the threads and the local cluster."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
