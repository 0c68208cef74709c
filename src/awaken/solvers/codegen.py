"""Code generation for the fast solver: the lung model as straight-line, SIMD-ready numba source.

The model functions are generated from the same SymPy expressions as the reference solver's
(:mod:`awaken.lung.compiled`): the right-hand side and the exact Jacobian (only its structurally
non-zero entries) become straight-line Python, with common subexpressions shared and small integer
powers written as products, looping over ``LANES`` individuals whose states sit side by side in
memory (state ``i`` of lane ``l`` at ``i * LANES + l``), so that the compiler turns every model
evaluation into SIMD vector instructions. A sparse LU without pivoting for the Jacobian's
structure (minimum-degree order) follows, then the integrator of :mod:`awaken.solvers.rodas_kernel`.
:mod:`awaken.solvers.fast` compiles and runs the result.

Example
-------
>>> from awaken.lung.compiled import compiled_model
>>> source = generated_source(compiled_model())
>>> "def model_rhs(y, p, out, lanes):" in source and "def simulate_batch(" in source
True
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import sympy
from sympy.printing.pycode import PythonCodePrinter

from awaken.lung.compiled import CompiledModel

__all__ = ["generated_source", "elimination_order", "LANES"]

#: Individuals integrated side by side in SIMD lanes (two AVX-512 registers of 8 doubles); 16 was the
#: smallest of the fastest of 8/16/32/64 (docs/performance.md).
LANES = 16

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
    kernel = (resources.files("awaken.solvers") / "rodas_kernel.py").read_text(encoding="utf-8")
    header = ('"""Generated by awaken.solvers.fast from awaken.lung.equations - do not edit."""\n'
              "from numba import njit\n\n"
              f"LANES = {LANES}\nN_STATES = {len(model.state_names)}\n"
              f"N_PARAMETERS = {len(model.parameter_names)}\n\n\n")
    return (header + _function_source("model_rhs", rhs, printer) + "\n\n"
            + _function_source("model_jacobian", entries, printer) + "\n\n"
            + _sparse_lu_source(pattern) + "\n\n" + kernel)
