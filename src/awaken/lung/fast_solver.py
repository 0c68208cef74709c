"""The fast solver: many individuals of the lung model at once, compiled, on every core.

The model functions are generated from the same SymPy expressions as the reference solver's
(:mod:`awaken.lung.compiled`): the right-hand side and the exact Jacobian (only its structurally
non-zero entries) become straight-line Python, with common subexpressions shared and small integer
powers written as products. That code, followed by the integrator of
:mod:`awaken.lung.rodas_kernel`, is written to a cache directory and compiled by numba with
``cache=True``: the first use on a machine compiles (measured in ``docs/performance.md``), later
processes load the machine code. The file name carries a hash of its source, so a change of the
equations or the integrator compiles afresh, never reuses stale code.

Each individual is pre-equilibrated exactly as the reference solver does (365 uninfected days,
then the DCC reservoir rescaled to ``dcc_initial``), then run through its schedule. Individuals are
independent and spread over threads with ``prange``; the result does not depend on the number of
threads (tested).

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
import os
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import ModuleType

import numpy as np
import sympy
from sympy.printing.pycode import PythonCodePrinter

from awaken.lung import equations
from awaken.lung.compiled import CompiledModel, compiled_model
from awaken.lung.solver import PREEQUILIBRATION_DAYS, Event, _absolute_tolerances

__all__ = ["FastSolver", "BatchResult", "cache_directory", "DEFAULT_RTOL", "FastSolverError"]

#: Relative tolerance of the fast solver, chosen by measurement (benchmarks/population_solver.py,
#: docs/performance.md): at 5e-5 the dcc_count of 20 drawn influenza mice stays within 6.8e-6 of the
#: reference solver at every output day (the requirement is 1e-4, tested over six experiments);
#: 1e-4 came within 2.7e-5 on 60 mice of five experiments - too little margin to be the default.
DEFAULT_RTOL = 5e-5
_STATUS = {1: "step size fell below 1e-12 d", 2: "more than 200000 steps"}


class FastSolverError(RuntimeError):
    """An individual's integration failed; the message names it and why."""


def cache_directory() -> Path:
    """Where generated and compiled code lives: ``$AWAKEN_CACHE_DIR`` or ``~/.cache/awaken``."""
    root = os.environ.get("AWAKEN_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "awaken")
    return Path(root) / "numba"


class _NumbaPrinter(PythonCodePrinter):
    """Straight-line code: states as ``y[i]``, parameters as ``p[j]``, integer powers as products."""

    def __init__(self, states: dict[sympy.Symbol, int], params: dict[sympy.Symbol, int]) -> None:
        super().__init__({"fully_qualified_modules": False})
        self._states = states
        self._params = params

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        if expr in self._states:
            return f"y[{self._states[expr]}]"
        if expr in self._params:
            return f"p[{self._params[expr]}]"
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
    replacements, reduced = sympy.cse([expr for _, expr in targets], symbols=sympy.numbered_symbols("c"))
    lines = ["@njit(cache=True, inline='always')", f"def {name}(y, p, out):"]
    for symbol, expr in replacements:
        lines.append(f"    {symbol} = {printer.doprint(expr)}")
    for (target, _), expr in zip(targets, reduced):
        lines.append(f"    {target} = {printer.doprint(expr)}")
    if len(lines) == 2:
        lines.append("    pass")
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
    """Straight-line sparse LU of ``E = fac*I - J`` (no pivoting) and its solve.

    Without pivoting, as in the KPP chemistry solvers: ``E`` has ``1/(gamma h)`` added to a
    diagonal whose entries are decay rates, so the pivots stay away from zero; a pivot that is
    zero or not finite makes the factorisation report failure and the integrator halves the step.
    The diagonal holds reciprocals of the pivots so that solves multiply instead of divide.
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
    factor = ["@njit(cache=True, inline='always')", "def model_lu_factor(jv, fac, lu):"]
    for (i, j), slot in slots.items():
        source = jac_slot.get((order[i], order[j]))
        value = "0.0" if source is None else f"-jv[{source}]"
        if i == j:
            value = "fac" if source is None else f"fac - jv[{source}]"
        factor.append(f"    lu[{slot}] = {value}")
    for k in range(n):
        pivot = slots[(k, k)]
        factor.append(f"    if not (abs(lu[{pivot}]) > 1e-300 and abs(lu[{pivot}]) < 1e300):")
        factor.append("        return False")
        factor.append(f"    lu[{pivot}] = 1.0 / lu[{pivot}]")
        for i in range(k + 1, n):
            if (i, k) in slots:
                factor.append(f"    lu[{slots[(i, k)]}] *= lu[{pivot}]")
                for j in range(k + 1, n):
                    if (k, j) in slots:
                        factor.append(f"    lu[{slots[(i, j)]}] -= lu[{slots[(i, k)]}] * lu[{slots[(k, j)]}]")
    factor.append("    return True")
    solve = ["@njit(cache=True, inline='always')", "def model_lu_solve(lu, b):"]
    for k in range(n):
        terms = "".join(f" - lu[{slots[(k, j)]}] * x{j}" for j in range(k) if (k, j) in slots)
        solve.append(f"    x{k} = b[{order[k]}]{terms}")
    for k in range(n - 1, -1, -1):
        terms = "".join(f" - lu[{slots[(k, j)]}] * x{j}" for j in range(k + 1, n) if (k, j) in slots)
        solve.append(f"    x{k} = (x{k}{terms}) * lu[{slots[(k, k)]}]")
    for k in range(n):
        solve.append(f"    b[{order[k]}] = x{k}")
    header = f"LU_SIZE = {len(slots)}\nJACOBIAN_SIZE = {len(jac_slot)}\n\n\n"
    return header + "\n".join(factor) + "\n\n\n" + "\n".join(solve) + "\n"


def generated_source(model: CompiledModel) -> str:
    """The model functions (right-hand side, the Jacobian's non-zero entries, a sparse LU for its
    structure) as numba-ready source, followed by the integrator."""
    states = {s: i for i, s in enumerate(model.state_symbols)}
    params = {s: j for j, s in enumerate(model.parameter_symbols)}
    printer = _NumbaPrinter(states, params)
    rhs = [(f"out[{i}]", expr) for i, expr in enumerate(model.rhs_expressions)]
    jacobian = sympy.Matrix(model.rhs_expressions).jacobian(sympy.Matrix(model.state_symbols))
    pattern = np.array([[jacobian[i, j] != 0 for j in range(jacobian.cols)] for i in range(jacobian.rows)])
    nonzero = [(i, j) for i in range(jacobian.rows) for j in range(jacobian.cols) if pattern[i, j]]
    entries = [(f"out[{k}]", jacobian[i, j]) for k, (i, j) in enumerate(nonzero)]
    kernel = (resources.files("awaken.lung") / "rodas_kernel.py").read_text(encoding="utf-8")
    header = ('"""Generated by awaken.lung.fast_solver from awaken.lung.equations - do not edit."""\n'
              "from numba import njit\n\n")
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
    n, m = len(model.state_names), len(model.parameter_names)
    module.simulate_batch(np.ones((1, m)), np.zeros((1, n)), 0.0, np.zeros(1, dtype=np.int64), np.zeros(1),
                          np.full((1, 1), np.inf), np.zeros((1, 1), dtype=np.int64), np.zeros((1, 1), dtype=np.int64),
                          np.zeros((1, 1)), 0.0, np.zeros(1), 1e-6, np.ones(n), np.zeros((1, 1, n)),
                          np.zeros(1, dtype=np.int64), np.zeros((1, 5), dtype=np.int64))


@dataclass(frozen=True)
class BatchResult:
    """States of every individual at the output days, plus solver statistics."""

    days: np.ndarray  # (n_days,)
    states: np.ndarray  # (n_individuals, n_days, n_states), clipped at 0 like the reference solver
    readouts: dict[str, np.ndarray]  # name -> (n_individuals, n_days)
    steps: np.ndarray  # accepted steps per individual
    rejected: np.ndarray  # rejected steps per individual
    rhs_evaluations: np.ndarray


class FastSolver:
    """Compiled batch solver of the lung model (see module docstring).

    ``rtol`` is the relative tolerance; absolute tolerances are the reference solver's
    (1e-6 in each state's unit, 1e-10 for fractions).
    """

    def __init__(self, rtol: float = DEFAULT_RTOL, model: CompiledModel | None = None) -> None:
        if not 1e-12 <= rtol <= 1e-2:
            raise ValueError(f"rtol = {rtol:g} is outside the allowed range [1e-12, 1e-2]")
        self.model = model or compiled_model()
        self.rtol = float(rtol)
        self.atol = _absolute_tolerances(self.model)
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
        width = max([1, *(sum(len(e.controls) + len(e.state_increments) for e in s) for s in schedules)])
        n = len(schedules)
        day = np.full((n, width), np.inf)
        kind = np.zeros((n, width), dtype=np.int64)
        index = np.zeros((n, width), dtype=np.int64)
        value = np.zeros((n, width))
        names = list(self.model.parameter_names)
        for i, events in enumerate(schedules):
            k = 0
            for event in events:  # the reference applies one day's events in list order
                for control, v in event.controls.items():
                    day[i, k], kind[i, k], index[i, k], value[i, k] = event.day, 0, names.index(control), v
                    k += 1
                for state, amount in event.state_increments.items():
                    day[i, k], kind[i, k], index[i, k], value[i, k] = event.day, 1, self.model.index(state), amount
                    k += 1
            order = np.argsort(day[i, :k], kind="stable")
            for array in (day, kind, index, value):
                array[i, :k] = array[i, :k][order]
        return day, kind, index, value

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
        theta = np.stack([model.theta({**p, **c}) for p, c in zip(params, controls)]) if n else \
            np.zeros((0, len(model.parameter_names)))
        guesses = [equations.initial_guess({**p, **c}) for p, c in zip(params, controls)]
        y0 = np.array([[g[s] for s in model.state_names] for g in guesses], dtype=float).reshape(n, self.n_states)
        dcc_index = np.array([model.index(s) for s in equations.DCC_STATES], dtype=np.int64)
        dcc_initial = np.array([p["dcc_initial"] for p in params], dtype=float)
        day, kind, index, value = self._event_arrays(schedules) if n else (np.zeros((0, 1)),) * 4
        out = np.zeros((n, output_days.size, self.n_states))
        status = np.zeros(n, dtype=np.int64)
        counters = np.zeros((n, 5), dtype=np.int64)
        module.simulate_batch(theta, y0, PREEQUILIBRATION_DAYS, dcc_index, dcc_initial, day,
                              kind.astype(np.int64), index.astype(np.int64), value, float(days), output_days,
                              self.rtol, self.atol, out, status, counters)
        failed = np.flatnonzero(status)
        if failed.size:
            i = int(failed[0])
            raise FastSolverError(f"individual {i} failed: {_STATUS.get(int(status[i]), 'unknown status')} "
                                  f"({failed.size} of {n} individuals failed)")
        states = np.maximum(out, 0.0)
        readouts = {}
        if n:
            values = model.readouts(np.moveaxis(states, 2, 0), theta.T[:, :, None])
            readouts = {k: np.asarray(v) for k, v in values.items()}
        return BatchResult(days=output_days, states=states, readouts=readouts, steps=counters[:, 0],
                           rejected=counters[:, 4], rhs_evaluations=counters[:, 3])
