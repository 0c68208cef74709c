"""The fast solver: many individuals of the lung model at once, compiled, on every core.

The lung model's functions are generated as SIMD-ready source (:mod:`awaken.solvers.codegen`:
right-hand side, exact sparse Jacobian, sparse LU, then the Rodas4 integrator of
:mod:`awaken.solvers.rodas_kernel`), written to a cache directory and compiled by numba with
``cache=True``: the first use on a machine compiles (measured in ``docs/performance.md``), later
processes load the machine code. The file name carries a hash of its source, so a change of the
equations or the integrator compiles afresh, never reuses stale code.

Generated code is trusted code: before the cached module is imported, its content is hashed and
compared with the source awaken generates now; a file that differs (edited, truncated, planted) is
replaced, never run. The cache directory must belong to the user and not be writable by others.

Each individual is pre-equilibrated exactly as the reference solver does (365 uninfected days,
then the DCC reservoir rescaled to ``dcc_initial``), then run through its schedule. Individuals are
independent: each thread takes a contiguous chunk and runs it ``LANES`` at a time, every lane with
its own step size; an individual's result does not depend on the number of threads, its lane or the
rest of its batch (tested).

Example
-------
>>> import numpy as np
>>> from awaken.solvers.fast import FastSolver
>>> solver = FastSolver()
>>> solver.n_states
20
"""

from __future__ import annotations

import hashlib
import operator
import os
import stat
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import numba
import numpy as np

from awaken.lung import equations
from awaken.lung.compiled import CompiledModel, compiled_model
from awaken.runs.files import atomic_write_text
from awaken.solvers.codegen import LANES, generated_source
from awaken.solvers.reference import PREEQUILIBRATION_DAYS, absolute_tolerances
from awaken.solvers.schedule import Event, IndividualEvents
from awaken.solvers.settings import DEFAULT_RTOL

__all__ = ["FastSolver", "BatchResult", "cache_directory", "DEFAULT_RTOL", "AMOUNT_ATOL", "FastSolverError"]

#: Absolute tolerance of the fast solver on amounts of cells and IL-6 (cells, pg/mL), chosen by
#: measurement (docs/performance.md): a hundredth of a cell is below anything the model's read-outs
#: resolve, and the reference solver's 1e-6 made the integrator follow cell numbers that have decayed
#: to nothing (346 instead of 254 steps per influenza individual, dcc_count error 6.8e-6 vs 1.1e-5).
#: Free virus keeps 1e-6: its titre is read out on a log scale down to 1e-6 of its peak.
AMOUNT_ATOL = 1e-2
_STATUS = {1: "step size fell below 1e-12 d", 2: "more than 200000 steps"}


class FastSolverError(RuntimeError):
    """An individual's integration failed; the message names it and why."""


def cache_directory() -> Path:
    """Where generated and compiled code lives: ``$AWAKEN_CACHE_DIR`` or ``~/.cache/awaken``."""
    root = os.environ.get("AWAKEN_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "awaken")
    return Path(root) / "numba"



def _trusted_directory(directory: Path) -> None:
    """Refuse a cache directory that someone else could write code into."""
    info = directory.stat()
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise FastSolverError(f"the code cache {directory} belongs to another user; set AWAKEN_CACHE_DIR to a "
                              f"directory of your own")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise FastSolverError(f"the code cache {directory} is writable by other users; make it private "
                              f"(chmod go-w) or set AWAKEN_CACHE_DIR")


def _generated_file(source: str) -> Path:
    """The cached generated module for ``source``, (re)written unless its content hashes to the source's."""
    digest = hashlib.sha256(source.encode()).hexdigest()
    directory = cache_directory()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    _trusted_directory(directory)
    path = directory / f"awaken_lung_rodas_{digest[:16]}.py"
    try:
        current = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    except OSError:
        current = None
    if current != digest:
        atomic_write_text(path, source)
    return path


@lru_cache(maxsize=1)
def _compiled_module() -> tuple[ModuleType, float]:
    """Import (and on first use compile) the generated module; returns it and the seconds it took.

    The module is executed from the source awaken generated in this process, not read back from
    the file (nor from a ``.pyc`` beside it): the file is there for numba's cache, which is keyed
    by its path and stamp, and is checked to hold that same source."""
    started = time.perf_counter()
    source = generated_source(compiled_model())
    path = _generated_file(source)
    module = ModuleType(path.stem)
    module.__file__ = str(path)
    sys.modules[path.stem] = module
    exec(compile(source, str(path), "exec"), module.__dict__)  # noqa: S102 - awaken's own generated source
    _warm_up(module)
    return module, time.perf_counter() - started


def _warm_up(module: ModuleType) -> None:
    """Trigger compilation (or loading from the cache) of the batch kernel with the real signature."""
    model = compiled_model()
    n = len(model.state_names)
    module.simulate_batch(np.ones((1, module.N_PARAMETERS)), np.zeros((1, n)), 0.0, np.zeros(1, dtype=np.int64),
                          np.zeros(1),
                          np.full((1, 1), np.inf), np.zeros((1, 1), dtype=np.int64), np.zeros((1, 1), dtype=np.int64),
                          np.zeros((1, 1)), 0.0, np.zeros(1), 1e-6, np.ones(n), np.zeros((1, 1, n)),
                          np.zeros(1, dtype=np.int64), np.zeros((1, 1, 0)), np.zeros(0, dtype=np.int64),
                          np.zeros(1, dtype=np.int64), np.zeros((1, 5), dtype=np.int64), 1)


class _Readouts(Mapping):
    """The read-outs of a batch, each computed from the states when first asked for."""

    def __init__(self, model: CompiledModel, states: np.ndarray, theta: np.ndarray) -> None:
        self._model = model
        self._states = states
        self._theta = theta
        self._values: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._values:
            if name not in self._model.readout_expressions:
                raise KeyError(name)
            self._values[name] = self._model.readout(name, np.moveaxis(self._states, 2, 0), self._theta.T[:, :, None])
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._model.readout_expressions)

    def __len__(self) -> int:
        return len(self._model.readout_expressions)

    def of(self, individuals: np.ndarray, days: np.ndarray) -> _Readouts:
        """The read-outs of only these individuals at only these output days (both index arrays)."""
        return _Readouts(self._model, self._states[np.ix_(individuals, days)], self._theta[individuals])


class _Columns(dict):
    """Parameter name -> values over the individuals (an array), built from their dicts on first use.

    A control's value comes from the individual's controls, anything else from its parameters - as
    if each individual's ``{**params, **controls}`` were read, without building those dicts when
    every individual names the same controls (the usual case)."""

    def __init__(self, params: list[dict[str, float]], controls: list[dict[str, float]]) -> None:
        super().__init__()
        first = controls[0].keys() if controls else set()
        if all(c.keys() == first for c in controls):
            self._sources = {name: controls for name in first}
            self._default = params
        else:
            self._sources = {}
            self._default = [{**p, **c} for p, c in zip(params, controls)]

    def __missing__(self, name: str) -> np.ndarray:
        individuals = self._sources.get(name, self._default)
        try:
            column = np.fromiter(map(operator.itemgetter(name), individuals), dtype=float, count=len(individuals))
        except KeyError:
            raise KeyError(f"missing parameter value: {name}") from None
        self[name] = column
        return column


def _chunks(n: int) -> int:
    """One chunk of individuals per thread, each with at least a lane's worth of individuals."""
    return max(1, min(numba.get_num_threads(), -(-n // LANES)))


@dataclass(frozen=True)
class BatchResult:
    """States of every individual at the output days, plus solver statistics."""

    days: np.ndarray  # (n_days,)
    states: np.ndarray  # (n_individuals, n_days, n_states), clipped at 0 like the reference solver
    readouts: Mapping[str, np.ndarray]  # name -> (n_individuals, n_days), each computed on first access
    steps: np.ndarray  # accepted steps per individual
    rejected: np.ndarray  # rejected steps per individual
    rhs_evaluations: np.ndarray

    def readouts_of(self, individuals: np.ndarray, days: np.ndarray) -> Mapping[str, np.ndarray]:
        """The read-outs of ``individuals`` at output days ``days`` (index arrays), computed only there:
        name -> (len(individuals), len(days)), the same numbers as :attr:`readouts` there."""
        return self.readouts.of(individuals, days)


class FastSolver:
    """Compiled batch solver of the lung model (see module docstring).

    ``rtol`` is the relative tolerance; absolute tolerances are
    :func:`awaken.solvers.reference.absolute_tolerances` with ``amount_atol`` on cells and pg/mL and
    ``min(1e-6, amount_atol)`` on free virus (callers that need a smooth objective at a tight
    ``rtol``, like the calibration, pass the reference solver's 1e-6).
    """

    def __init__(self, rtol: float = DEFAULT_RTOL, model: CompiledModel | None = None,
                 amount_atol: float = AMOUNT_ATOL) -> None:
        if not 1e-12 <= rtol <= 1e-2:
            raise ValueError(f"rtol = {rtol:g} is outside the allowed range [1e-12, 1e-2]")
        if not 1e-12 <= amount_atol <= 1.0:
            raise ValueError(f"amount_atol = {amount_atol:g} is outside the allowed range [1e-12, 1]")
        self.model = model or compiled_model()
        self.rtol = float(rtol)
        self.atol = absolute_tolerances(self.model, amounts=amount_atol, virus=min(1e-6, amount_atol))
        self._controls = set(equations.CONTROLS)
        used = set().union(*(expr.free_symbols for expr in self.model.readout_expressions.values()))
        if {str(s) for s in used} & self._controls:
            raise FastSolverError("read-outs depend on controls; the fast solver evaluates them with day-0 controls")

    @property
    def n_states(self) -> int:
        return len(self.model.state_names)

    @staticmethod
    def compile_seconds() -> float:
        """Seconds the first use in this process took (generation + compilation or cache load)."""
        return _compiled_module()[1]

    def _event_arrays(self, schedules: list[list[Event]]) -> tuple[np.ndarray, ...]:
        """Each individual's events as rows of (day, kind, index, value) sorted by day, one day's
        events in list order as the reference solver applies them (kind 0 sets a parameter, 1 adds
        to a state). Identical schedules - usually all of a batch - are converted once."""
        names = {name: j for j, name in enumerate(self.model.parameter_names)}
        states = {name: j for j, name in enumerate(self.model.state_names)}
        unique: dict[tuple, int] = {}
        tables = []
        which = np.empty(len(schedules), dtype=np.int64)
        for i, events in enumerate(schedules):
            key = tuple((e.day, tuple(e.controls.items()), tuple(e.state_increments.items())) for e in events)
            if key not in unique:
                entries = []
                for day, controls, increments in key:
                    entries += [(day, 0, names[c], v) for c, v in controls]
                    entries += [(day, 1, states[s], v) for s, v in increments]
                unique[key] = len(tables)
                tables.append(sorted(entries, key=lambda entry: entry[0]))  # stable
            which[i] = unique[key]
        width = max([1, *(len(t) for t in tables)])
        table = np.zeros((len(tables), width, 4))
        table[:, :, 0] = np.inf
        for u, entries in enumerate(tables):
            if entries:
                table[u, : len(entries)] = entries
        chosen = table[which]
        return (np.ascontiguousarray(chosen[:, :, 0]), chosen[:, :, 1].astype(np.int64),
                chosen[:, :, 2].astype(np.int64), np.ascontiguousarray(chosen[:, :, 3]))

    def simulate(self, params: list[dict[str, float]], controls: list[dict[str, float]],
                 schedules: list[list[Event]], days: float, output_days: np.ndarray) -> BatchResult:
        """Simulate individual ``i`` with ``params[i]``, day-0 ``controls[i]`` and events ``schedules[i]``
        from day 0 to ``days``; states at ``output_days`` (within ``[0, days]``)."""
        if not (len(params) == len(controls) == len(schedules)):
            raise ValueError("params, controls and schedules must have one entry per individual")
        output_days = _check_output_days(output_days, days)
        for i, events in enumerate(schedules):
            for event in events:
                if not 0.0 <= event.day < days:
                    raise ValueError(f"individual {i}: event at day {event.day:g} lies outside the run "
                                     f"(it must be >= 0 and < {days:g} d)")
        n = len(params)
        events = self._event_arrays(schedules) if n else \
            (np.zeros((0, 1)), np.zeros((0, 1), dtype=np.int64), np.zeros((0, 1), dtype=np.int64), np.zeros((0, 1)))
        return self._run(_Columns(params, controls), n, events, days, output_days)

    def simulate_columns(self, columns: Mapping[str, np.ndarray | float], n: int, events: Sequence[Event],
                         days: float, output_days: np.ndarray, individual: IndividualEvents | None = None
                         ) -> BatchResult:
        """The array form of :meth:`simulate`, for large batches built without a dict per individual.

        ``columns`` maps every parameter and control of the model to one value per individual (an
        array of length ``n``) or one value for all. ``events`` is one schedule shared by every
        individual, but the amounts of an event may be arrays of length ``n`` (a dose that depends on
        the individual's parameters); ``individual`` adds each individual's own control changes (a drug
        course, :func:`awaken.solvers.schedule.drug_event_table`), applied after the shared events of the
        same day. Same results, bit for bit, as :meth:`simulate` on the same values.
        """
        output_days = _check_output_days(output_days, days)
        columns, n, table = self._shared(columns, n, events, days)
        if individual is not None:
            table = self._with_individual(table, individual, days)
        return self._run(columns, n, table, days, output_days)

    def _with_individual(self, table: tuple[np.ndarray, ...], individual: IndividualEvents, days: float
                         ) -> tuple[np.ndarray, ...]:
        day, kind, index, value = table
        if individual.day.shape[0] != day.shape[0]:
            raise ValueError("individual events must have one row per individual")
        if np.any(individual.day[np.isfinite(individual.day)] >= days) or np.any(individual.day < 0):
            raise ValueError(f"individual events must lie within [0, {days:g}) d")
        names = {name: j for j, name in enumerate(self.model.parameter_names)}
        codes = np.array([names[c] for c in individual.names], dtype=np.int64)
        day = np.hstack([day, individual.day])
        kind = np.hstack([kind, np.zeros(individual.day.shape, np.int64)])
        index = np.hstack([index, codes[individual.code] if codes.size else individual.code])
        value = np.hstack([value, individual.value])
        order = np.argsort(day, axis=1, kind="stable")  # a day's shared events first
        return tuple(np.ascontiguousarray(np.take_along_axis(a, order, axis=1)) for a in (day, kind, index, value))

    def screen_columns(self, columns: Mapping[str, np.ndarray | float], n: int, events: Sequence[Event],
                       days: float, output_days: np.ndarray, full_days: np.ndarray, picked: Sequence[str]
                       ) -> tuple[BatchResult, dict[str, np.ndarray]]:
        """:meth:`simulate_columns` on a fine grid of ``output_days`` that keeps every state only at the
        days where ``full_days`` (a boolean per output day) is set, and the read-outs ``picked`` - each
        must be a state - at every day: a screen (the population's envelope) without storing every
        state of every individual on a quarter-day grid. Returns the result on the full days and
        picked read-out -> (n, len(output_days)); the same numbers, bit for bit, as
        :meth:`simulate_columns` on the same days."""
        output_days = _check_output_days(output_days, days)
        full_days = np.asarray(full_days, dtype=bool)
        if full_days.shape != output_days.shape:
            raise ValueError("full_days must have one entry per output day")
        states = {symbol: k for k, symbol in enumerate(self.model.state_symbols)}
        expressions = self.model.readout_expressions
        unknown = [name for name in picked if expressions.get(name) not in states]
        if unknown:
            raise ValueError(f"only read-outs that are states can be picked, not {', '.join(unknown)}")
        indices = np.array([states[expressions[name]] for name in picked], dtype=np.int64)
        result, values = self._run(*self._shared(columns, n, events, days), days, output_days, full_days, indices)
        return result, {name: values[:, :, m] for m, name in enumerate(picked)}

    def _shared(self, columns: Mapping[str, np.ndarray | float], n: int, events: Sequence[Event], days: float
                ) -> tuple[Mapping[str, np.ndarray], int, tuple[np.ndarray, ...]]:
        """Columns broadcast to ``n`` and one event table for everyone (amounts may be arrays)."""
        for event in events:
            if not 0.0 <= event.day < days:
                raise ValueError(f"event at day {event.day:g} lies outside the run (it must be >= 0 and < {days:g} d)")
        names = {name: j for j, name in enumerate(self.model.parameter_names)}
        states = {name: j for j, name in enumerate(self.model.state_names)}
        entries = []
        for event in events:
            entries += [(event.day, 0, names[c], v) for c, v in event.controls.items()]
            entries += [(event.day, 1, states[s], v) for s, v in event.state_increments.items()]
        entries.sort(key=lambda entry: entry[0])  # stable: one day's events in list order
        width = max(1, len(entries))
        day = np.full((n, width), np.inf)
        kind = np.zeros((n, width), dtype=np.int64)
        index = np.zeros((n, width), dtype=np.int64)
        value = np.zeros((n, width))
        for j, (d, k, i, v) in enumerate(entries):
            day[:, j], kind[:, j], index[:, j], value[:, j] = d, k, i, v
        full = {name: np.broadcast_to(np.asarray(values, dtype=float), (n,)) for name, values in columns.items()}
        return _Given(full), n, (day, kind, index, value)

    def _run(self, columns: Mapping[str, np.ndarray], n: int, events: tuple[np.ndarray, ...], days: float,
             output_days: np.ndarray, full_days: np.ndarray | None = None, picked: np.ndarray | None = None
             ) -> BatchResult | tuple[BatchResult, np.ndarray]:
        module, _ = _compiled_module()
        model = self.model
        theta = np.column_stack([columns[name] for name in model.parameter_names]) if n else \
            np.zeros((0, len(model.parameter_names)))
        guess = equations.initial_guess(columns)  # plain arithmetic: evaluates on the columns
        y0 = np.column_stack([np.broadcast_to(np.asarray(guess[s], dtype=float), (n,)) for s in model.state_names]) \
            if n else np.zeros((0, self.n_states))
        dcc_index = np.array([model.index(s) for s in equations.DCC_STATES], dtype=np.int64)
        dcc_initial = np.ascontiguousarray(columns["dcc_initial"], dtype=float) if n else np.zeros(0)
        day, kind, index, value = events
        slot = np.arange(output_days.size) if full_days is None else \
            np.where(full_days, np.cumsum(full_days) - 1, -1).astype(np.int64)
        out = np.zeros((n, int((slot >= 0).sum()), self.n_states))
        picked_states = np.zeros(0, dtype=np.int64) if picked is None else picked
        values = np.zeros((n, output_days.size, picked_states.size))
        status = np.zeros(n, dtype=np.int64)
        counters = np.zeros((n, 5), dtype=np.int64)
        module.simulate_batch(theta, np.ascontiguousarray(y0), PREEQUILIBRATION_DAYS, dcc_index, dcc_initial,
                              np.ascontiguousarray(day), np.ascontiguousarray(kind), np.ascontiguousarray(index),
                              np.ascontiguousarray(value), float(days), output_days, self.rtol, self.atol, out,
                              slot, values, picked_states, status, counters, _chunks(n))
        failed = np.flatnonzero(status)
        if failed.size:
            i = int(failed[0])
            raise FastSolverError(f"individual {i} failed: {_STATUS.get(int(status[i]), 'unknown status')} "
                                  f"({failed.size} of {n} individuals failed)")
        # States are clipped at 0 by the kernel, like the reference solver's output.
        result = BatchResult(days=output_days[slot >= 0], states=out, readouts=_Readouts(model, out, theta),
                             steps=counters[:, 0], rejected=counters[:, 4], rhs_evaluations=counters[:, 3])
        return result if picked is None else (result, values)


def _check_output_days(output_days: np.ndarray, days: float) -> np.ndarray:
    output_days = np.asarray(output_days, dtype=float)
    if output_days.ndim != 1 or np.any(np.diff(output_days) < 0):
        raise ValueError("output_days must be a sorted one-dimensional array")
    if output_days.size and (output_days[0] < 0 or output_days[-1] > days):
        raise ValueError(f"output_days must lie within [0, {days:g}] d")
    return output_days


class _Given(dict):
    """Columns handed over whole (:meth:`FastSolver.simulate_columns`); a missing one is named."""

    def __missing__(self, name: str) -> np.ndarray:
        raise KeyError(f"missing parameter value: {name}")
