"""Numeric functions derived from :mod:`awaken.lung.equations` (never written by hand).

The reaction list is evaluated once on SymPy symbols; from it come the stoichiometry matrix, the
reaction-rate vector, the ODE right-hand side, its exact Jacobian and the read-outs, each turned
into NumPy code with common-subexpression elimination. Every other part of awaken that needs the
model's numbers (the reference solver, later the SBML export and the batch solver) uses this.

Example
-------
>>> from awaken.lung.compiled import compiled_model
>>> model = compiled_model()
>>> model.stoichiometry.shape[0] == len(model.state_names)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np
import sympy

from awaken.lung import equations

__all__ = ["CompiledModel", "compiled_model"]


class _RecordingNamespace(SimpleNamespace):
    """Hands out a SymPy symbol for any attribute name and remembers which were used."""

    def __init__(self) -> None:
        super().__init__()
        object.__setattr__(self, "_used", {})

    def __getattr__(self, name: str) -> sympy.Symbol:
        if name.startswith("__"):
            raise AttributeError(name)
        used = object.__getattribute__(self, "_used")
        if name not in used:
            used[name] = sympy.Symbol(name, real=True)
        return used[name]


@dataclass(frozen=True)
class CompiledModel:
    """The lung model as symbolic expressions plus fast NumPy functions of ``(y, theta)``.

    ``y`` is ordered as :attr:`state_names`, ``theta`` as :attr:`parameter_names` (all parameters
    and controls the equations use, alphabetically).
    """

    state_names: tuple[str, ...]
    parameter_names: tuple[str, ...]
    reaction_names: tuple[str, ...]
    reaction_processes: tuple[str, ...]
    stoichiometry: np.ndarray
    state_symbols: tuple[sympy.Symbol, ...]
    parameter_symbols: tuple[sympy.Symbol, ...]
    rate_expressions: tuple[sympy.Expr, ...]
    readout_expressions: dict[str, sympy.Expr]

    @cached_property
    def rhs_expressions(self) -> tuple[sympy.Expr, ...]:
        rates = sympy.Matrix(self.rate_expressions)
        stoich = sympy.Matrix(self.stoichiometry.astype(int).tolist())
        return tuple(stoich * rates)

    def _lambdify(self, exprs: Any) -> Callable[..., Any]:
        return sympy.lambdify((self.state_symbols, self.parameter_symbols), exprs, modules="numpy", cse=True)

    @cached_property
    def _rhs(self) -> Callable[..., Any]:
        return self._lambdify(list(self.rhs_expressions))

    @cached_property
    def _jacobian(self) -> Callable[..., Any]:
        jac = sympy.Matrix(self.rhs_expressions).jacobian(sympy.Matrix(self.state_symbols))
        return self._lambdify(jac)

    @cached_property
    def _rates(self) -> Callable[..., Any]:
        return self._lambdify(list(self.rate_expressions))

    @cached_property
    def _readouts(self) -> Callable[..., Any]:
        return self._lambdify(list(self.readout_expressions.values()))

    def rhs(self, y: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Time derivative of the states (1/d units of each state)."""
        return np.array(self._rhs(y, theta), dtype=float)

    def jacobian(self, y: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Exact Jacobian d(rhs)/dy."""
        return np.asarray(self._jacobian(y, theta), dtype=float)

    def rates(self, y: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Reaction rates, broadcast to a common shape ``(n_reactions, *batch)``."""
        values = self._rates(y, theta)
        return np.stack(np.broadcast_arrays(*values))

    def readouts(self, y: np.ndarray, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Read-outs of states ``y`` (shape ``(n_states, *batch)``)."""
        values = self._readouts(y, theta)
        shape = np.shape(y)[1:]
        return {name: np.broadcast_to(np.asarray(v, dtype=float), shape).copy()
                for name, v in zip(self.readout_expressions, values)}

    @cached_property
    def _readout_functions(self) -> dict[str, Callable[..., Any]]:
        return {name: self._lambdify(expr) for name, expr in self.readout_expressions.items()}

    def readout(self, name: str, y: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """One read-out of states ``y`` (shape ``(n_states, *batch)``), as a new array of the batch shape."""
        value = np.asarray(self._readout_functions[name](y, theta), dtype=float)
        shape = np.shape(y)[1:]
        if value.shape != shape or np.shares_memory(value, y):
            value = np.broadcast_to(value, shape).copy()
        return value

    def theta(self, values: dict[str, float]) -> np.ndarray:
        """Parameter vector from a name -> value mapping; every model parameter must be present."""
        missing = [n for n in self.parameter_names if n not in values]
        if missing:
            raise KeyError(f"missing parameter values: {', '.join(missing)}")
        return np.array([values[n] for n in self.parameter_names], dtype=float)

    def index(self, state: str) -> int:
        return self.state_names.index(state)


@lru_cache(maxsize=1)
def compiled_model() -> CompiledModel:
    """Build (once per process) the compiled lung model from :func:`equations.reactions`."""
    state_symbols = tuple(sympy.Symbol(name, real=True) for name in equations.STATE_NAMES)
    states = SimpleNamespace(**dict(zip(equations.STATE_NAMES, state_symbols)))
    params = _RecordingNamespace()
    reactions = equations.reactions(states, params)
    readout_exprs = equations.readouts(states, params)
    used = object.__getattribute__(params, "_used")
    parameter_names = tuple(sorted(used))
    stoich = np.zeros((len(state_symbols), len(reactions)))
    for j, reaction in enumerate(reactions):
        for state, coefficient in reaction.change.items():
            stoich[equations.STATE_NAMES.index(state), j] += coefficient
    return CompiledModel(
        state_names=equations.STATE_NAMES,
        parameter_names=parameter_names,
        reaction_names=tuple(r.name for r in reactions),
        reaction_processes=tuple(r.process for r in reactions),
        stoichiometry=stoich,
        state_symbols=state_symbols,
        parameter_symbols=tuple(used[name] for name in parameter_names),
        rate_expressions=tuple(sympy.sympify(r.rate) for r in reactions),
        readout_expressions={k: sympy.sympify(v) for k, v in readout_exprs.items()},
    )
