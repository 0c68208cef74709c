"""The fast solver: many individuals of the lung model at once, compiled, on every core.

The model functions are generated from the same SymPy expressions as the reference solver's
(:mod:`awaken.lung.compiled`): the right-hand side and the exact Jacobian (only its structurally
non-zero entries) become straight-line Python, with common subexpressions shared and small integer
powers written as products, looping over ``LANES`` individuals whose states sit side by side in
memory (state ``i`` of lane ``l`` at ``i * LANES + l``), so that the compiler turns every model
evaluation into SIMD vector instructions. That code, followed by the integrator of
:mod:`awaken.lung.rodas_kernel`, is written to a cache directory and compiled by numba with
``cache=True``: the first use on a machine compiles (measured in ``docs/performance.md``), later
processes load the machine code. The file name carries a hash of its source, so a change of the
equations or the integrator compiles afresh, never reuses stale code.

Each individual is pre-equilibrated exactly as the reference solver does (365 uninfected days,
then the DCC reservoir rescaled to ``dcc_initial``), then run through its schedule. Individuals are
independent: each thread takes a contiguous chunk and runs it ``LANES`` at a time, every lane with
its own step size; an individual's result does not depend on the number of threads, its lane or the
rest of its batch (tested).

Example
-------
>>> import numpy as np
>>> from awaken.lung.fast_solver import FastSolver
>>> solver = FastSolver()
>>> solver.n_states
20
"""

from __future__ import annotations

import hashlib
import importlib.util
import operator
import os
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import ModuleType

import numba
import numpy as np
import sympy
from sympy.printing.pycode import PythonCodePrinter

from awaken.lung import equations
from awaken.lung.compiled import CompiledModel, compiled_model
from awaken.lung.solver import PREEQUILIBRATION_DAYS, Event, absolute_tolerances

__all__ = ["FastSolver", "BatchResult", "cache_directory", "DEFAULT_RTOL", "AMOUNT_ATOL", "FastSolverError"]

#: Relative tolerance of the fast solver, chosen by measurement (benchmarks/population_solver.py,
#: docs/performance.md): at 5e-5 the dcc_count of 300 drawn mice of six experiments stays within
#: 5.2e-5 of the reference solver at every output day (influenza 2.5e-5; the requirement is 1e-4,
#: tested over six experiments); 1e-4 came within 2.7e-5 on 60 mice of five experiments but leaves
#: too little margin to be the default.
DEFAULT_RTOL = 5e-5
#: Absolute tolerance of the fast solver on amounts of cells and IL-6 (cells, pg/mL), chosen by
#: measurement (docs/performance.md): a hundredth of a cell is below anything the model's read-outs
#: resolve, and the reference solver's 1e-6 made the integrator follow cell numbers that have decayed
#: to nothing (346 instead of 254 steps per influenza individual, dcc_count error 6.8e-6 vs 1.1e-5).
#: Free virus keeps 1e-6: its titre is read out on a log scale down to 1e-6 of its peak.
AMOUNT_ATOL = 1e-2
#: Individuals integrated side by side in SIMD lanes (two AVX-512 registers of 8 doubles); 16 was the
#: smallest of the fastest of 8/16/32/64 (docs/performance.md).
LANES = 16
_STATUS = {1: "step size fell below 1e-12 d", 2: "more than 200000 steps"}


class FastSolverError(RuntimeError):
    """An individual's integration failed; the message names it and why."""


def cache_directory() -> Path:
    """Where generated and compiled code lives: ``$AWAKEN_CACHE_DIR`` or ``~/.cache/awaken``."""
    root = os.environ.get("AWAKEN_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "awaken")
    return Path(root) / "numba"


_DECORATOR = "@njit(cache=True, inline='always', error_model='numpy')"


class _NumbaPrinter(PythonCodePrinter):
    """Straight-line code for one lane: state ``i`` as ``y[i * LANES + lane]``, parameter ``j`` as
    ``p[j * LANES + lane]``, integer powers as products."""

    def __init__(self, states: dict[sympy.Symbol, int], params: dict[sympy.Symbol, int]) -> None:
        super().__init__({"fully_qualified_modules": False})
        self._states = states
        self._params = params

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        if expr in self._states:
            return f"y[{self._states[expr] * LANES} + lane]"
        if expr in self._params:
            return f"p[{self._params[expr] * LANES} + lane]"
        return super()._print_Symbol(expr)

    def _print_Pow(self, expr: sympy.Pow, rational: bool = False) -> str:  # noqa: ARG002
        base, exponent = expr.as_base_exp()
        if exponent.is_Integer and 0 < int(exponent) <= 4:
            factor = self.parenthesize(base, sympy.printing.precedence.PRECEDENCE["Mul"])
            return "(" + "*".join([factor] * int(exponent)) + ")"
        if exponent == -1:
            return f"1.0/({self._print(base)})"
        return f"({self._print(base)})**({self._print(exponent)})"

    def _print_Float(self, expr: sympy.Float) -> str:
        return repr(float(expr))

    def _print_Rational(self, expr: sympy.Rational) -> str:
        return f"({float(expr.p)!r}/{float(expr.q)!r})"


def _function_source(name: str, targets: list[tuple[str, sympy.Expr]], printer: _NumbaPrinter) -> str:
    """``name(y, p, out, lanes)``: the expressions of ``targets`` for every lane, common subexpressions shared.

    ``lanes`` is always ``LANES``; passing it as a run-time loop bound makes the compiler vectorise
    the loop over lanes (a constant bound of 8 gets unrolled into scalar code instead)."""
    replacements, reduced = sympy.cse([expr for _, expr in targets], symbols=sympy.numbered_symbols("c"))
    lines = [_DECORATOR, f"def {name}(y, p, out, lanes):", "    for lane in range(lanes):"]
    for symbol, expr in replacements:
        lines.append(f"        {symbol} = {printer.doprint(expr)}")
    for (target, _), expr in zip(targets, reduced):
        lines.append(f"        {target} = {printer.doprint(expr)}")
    if len(lines) == 3:
        lines.append("        pass")
    return "\n".join(lines) + "\n"


def elimination_order(pattern: np.ndarray) -> list[int]:
    """Greedy minimum-degree ordering of the states for the sparse LU (least fill-in first)."""
    remaining = list(range(pattern.shape[0]))
    filled = pattern.copy()
    order = []
    while remaining:
        def cost(k: int) -> tuple[int, int]:
            rows = sum(1 for i in remaining if i != k and filled[i, k])
            cols = sum(1 for j in remaining if j != k and filled[k, j])
            return rows * cols, k
        best = min(remaining, key=cost)
        order.append(best)
        remaining.remove(best)
        for i in remaining:
            if filled[i, best]:
                for j in remaining:
                    if filled[best, j]:
                        filled[i, j] = True
    return order


def _sparse_lu_source(pattern: np.ndarray) -> str:
    """Straight-line sparse LU of ``E = fac*I - J`` (no pivoting), its pivot check and its solve.

    Without pivoting, as in the KPP chemistry solvers: ``E`` has ``1/(gamma h)`` added to a
    diagonal whose entries are decay rates, so the pivots stay away from zero; a lane whose pivot is
    zero or not finite fails ``model_pivots_ok`` and the integrator halves its step. The
    factorisation itself has no branch, so it runs in every lane at once. The diagonal holds
    reciprocals of the pivots so that solves multiply instead of divide.
    """
    n = pattern.shape[0]
    order = elimination_order(pattern | np.eye(n, dtype=bool))
    position = {state: k for k, state in enumerate(order)}
    filled = np.zeros((n, n), dtype=bool)
    for i in range(n):
        for j in range(n):
            if pattern[i, j] or i == j:
                filled[position[i], position[j]] = True
    for k in range(n):
        for i in range(k + 1, n):
            if filled[i, k]:
                for j in range(k + 1, n):
                    if filled[k, j]:
                        filled[i, j] = True
    slots = {(i, j): s for s, (i, j) in enumerate(zip(*np.nonzero(filled)))}
    jac_slot = {(i, j): s for s, (i, j) in enumerate(zip(*np.nonzero(pattern)))}
    factor = [_DECORATOR, "def model_lu_factor(jv, fac, lu, lanes):", "    for lane in range(lanes):"]
    for (i, j), slot in slots.items():
        source = jac_slot.get((order[i], order[j]))
        value = "0.0" if source is None else f"-jv[{source * LANES} + lane]"
        if i == j:
            value = "fac[lane]" if source is None else f"fac[lane] - jv[{source * LANES} + lane]"
        factor.append(f"        lu[{slot * LANES} + lane] = {value}")
    for k in range(n):
        pivot = slots[(k, k)]
        factor.append(f"        lu[{pivot * LANES} + lane] = 1.0 / lu[{pivot * LANES} + lane]")
        for i in range(k + 1, n):
            if (i, k) in slots:
                factor.append(f"        lu[{slots[(i, k)] * LANES} + lane] *= lu[{pivot * LANES} + lane]")
                for j in range(k + 1, n):
                    if (k, j) in slots:
                        factor.append(f"        lu[{slots[(i, j)] * LANES} + lane] -= "
                                      f"lu[{slots[(i, k)] * LANES} + lane] * lu[{slots[(k, j)] * LANES} + lane]")
    pivots = ", ".join(str(slots[(k, k)]) for k in range(n))
    check = [_DECORATOR, "def model_pivots_ok(lu, lane):",
             f"    for slot in ({pivots},):",
             "        r = abs(lu[slot * LANES + lane])  # the reciprocal of the pivot",
             "        if not (r > 1e-300 and r < 1e300):",
             "            return False",
             "    return True"]
    solve = [_DECORATOR, "def model_lu_solve(lu, b, lanes):", "    for lane in range(lanes):"]
    for k in range(n):
        terms = "".join(f" - lu[{slots[(k, j)] * LANES} + lane] * x{j}" for j in range(k) if (k, j) in slots)
        solve.append(f"        x{k} = b[{order[k] * LANES} + lane]{terms}")
    for k in range(n - 1, -1, -1):
        terms = "".join(f" - lu[{slots[(k, j)] * LANES} + lane] * x{j}" for j in range(k + 1, n) if (k, j) in slots)
        solve.append(f"        x{k} = (x{k}{terms}) * lu[{slots[(k, k)] * LANES} + lane]")
    for k in range(n):
        solve.append(f"        b[{order[k] * LANES} + lane] = x{k}")
    header = f"LU_SIZE = {len(slots)}\nJACOBIAN_SIZE = {len(jac_slot)}\n\n\n"
    return header + "\n".join(factor) + "\n\n\n" + "\n".join(check) + "\n\n\n" + "\n".join(solve) + "\n"


def generated_source(model: CompiledModel) -> str:
    """The model functions (right-hand side, the Jacobian's non-zero entries, a sparse LU for its
    structure) as numba-ready source, followed by the integrator."""
    states = {s: i for i, s in enumerate(model.state_symbols)}
    params = {s: j for j, s in enumerate(model.parameter_symbols)}
    printer = _NumbaPrinter(states, params)
    rhs = [(f"out[{i * LANES} + lane]", expr) for i, expr in enumerate(model.rhs_expressions)]
    jacobian = sympy.Matrix(model.rhs_expressions).jacobian(sympy.Matrix(model.state_symbols))
    pattern = np.array([[jacobian[i, j] != 0 for j in range(jacobian.cols)] for i in range(jacobian.rows)])
    nonzero = [(i, j) for i in range(jacobian.rows) for j in range(jacobian.cols) if pattern[i, j]]
    entries = [(f"out[{k * LANES} + lane]", jacobian[i, j]) for k, (i, j) in enumerate(nonzero)]
    kernel = (resources.files("awaken.lung") / "rodas_kernel.py").read_text(encoding="utf-8")
    header = ('"""Generated by awaken.lung.fast_solver from awaken.lung.equations - do not edit."""\n'
              "from numba import njit\n\n"
              f"LANES = {LANES}\nN_STATES = {len(model.state_names)}\n"
              f"N_PARAMETERS = {len(model.parameter_names)}\n\n\n")
    return (header + _function_source("model_rhs", rhs, printer) + "\n\n"
            + _function_source("model_jacobian", entries, printer) + "\n\n"
            + _sparse_lu_source(pattern) + "\n\n" + kernel)


@lru_cache(maxsize=1)
def _compiled_module() -> tuple[ModuleType, float]:
    """Import (and on first use compile) the generated module; returns it and the seconds it took."""
    started = time.perf_counter()
    source = generated_source(compiled_model())
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    directory = cache_directory()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"awaken_lung_rodas_{digest}.py"
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(source, encoding="utf-8")
        tmp.replace(path)
    name = f"awaken_lung_rodas_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
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


class FastSolver:
    """Compiled batch solver of the lung model (see module docstring).

    ``rtol`` is the relative tolerance; absolute tolerances are
    :func:`awaken.lung.solver.absolute_tolerances` with ``amount_atol`` on cells and pg/mL and
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
        output_days = np.asarray(output_days, dtype=float)
        if output_days.ndim != 1 or np.any(np.diff(output_days) < 0):
            raise ValueError("output_days must be a sorted one-dimensional array")
        if output_days.size and (output_days[0] < 0 or output_days[-1] > days):
            raise ValueError(f"output_days must lie within [0, {days:g}] d")
        for i, events in enumerate(schedules):
            for event in events:
                if not 0.0 <= event.day < days:
                    raise ValueError(f"individual {i}: event at day {event.day:g} lies outside the run "
                                     f"(it must be >= 0 and < {days:g} d)")
        module, _ = _compiled_module()
        model = self.model
        n = len(params)
        columns = _Columns(params, controls)
        theta = np.column_stack([columns[name] for name in model.parameter_names]) if n else \
            np.zeros((0, len(model.parameter_names)))
        guess = equations.initial_guess(columns)  # plain arithmetic: evaluates on the columns
        y0 = np.column_stack([np.broadcast_to(np.asarray(guess[s], dtype=float), (n,)) for s in model.state_names]) \
            if n else np.zeros((0, self.n_states))
        dcc_index = np.array([model.index(s) for s in equations.DCC_STATES], dtype=np.int64)
        dcc_initial = columns["dcc_initial"] if n else np.zeros(0)
        day, kind, index, value = self._event_arrays(schedules) if n else \
            (np.zeros((0, 1)), np.zeros((0, 1), dtype=np.int64), np.zeros((0, 1), dtype=np.int64), np.zeros((0, 1)))
        out = np.zeros((n, output_days.size, self.n_states))
        status = np.zeros(n, dtype=np.int64)
        counters = np.zeros((n, 5), dtype=np.int64)
        module.simulate_batch(theta, np.ascontiguousarray(y0), PREEQUILIBRATION_DAYS, dcc_index, dcc_initial, day,
                              kind, index, value, float(days), output_days, self.rtol, self.atol, out, status,
                              counters, _chunks(n))
        failed = np.flatnonzero(status)
        if failed.size:
            i = int(failed[0])
            raise FastSolverError(f"individual {i} failed: {_STATUS.get(int(status[i]), 'unknown status')} "
                                  f"({failed.size} of {n} individuals failed)")
        # States are clipped at 0 by the kernel, like the reference solver's output.
        return BatchResult(days=output_days, states=out, readouts=_Readouts(model, out, theta), steps=counters[:, 0],
                           rejected=counters[:, 4], rhs_evaluations=counters[:, 3])
