"""The reference engine: the lung model integrated animal by animal, stiff-safe and non-negative.

:func:`run_group` runs an :class:`~awaken.experiments.protocol.Experiment`: it draws ``mice``
animals around the nominal parameters (:func:`awaken.lung.parameters.draw_individuals`), turns the
protocol into each animal's controls and events (:mod:`awaken.solvers.schedule`) and integrates
each with :func:`simulate`, returning a :class:`~awaken.experiments.results.GroupResult`.

A run is a sequence of segments between *events* (infection, an antibody starting or stopping).
Within a segment the controls are constant and SciPy's Radau (implicit Runge-Kutta, order 5,
L-stable) integrates the ODE with the exact Jacobian. At an event the solver stops, applies the
change (a dose added to a state, a control switched) and restarts, so discontinuities are never
stepped over.

Non-negativity: every rate in :mod:`awaken.lung.equations` that removes a state is proportional to
that state, so at ``y_i = 0`` the derivative of ``y_i`` is non-negative and the exact solution never
leaves the non-negative orthant. What remains is solver round-off below the absolute tolerance
(cleared virus and infected cells hover at about -1e-8); the result records the most negative raw
value (:attr:`Trajectory.most_negative`, tested to stay above -atol) and reports clipped values.
The right-hand side is deliberately *not* evaluated at ``max(y, 0)``: that kink hands Newton a wrong
Jacobian whenever a state is slightly negative, which in a measurement cost 3x more steps, 30x more
Jacobians and produced larger undershoots (docs/performance.md).

Accuracy: against Radau at rtol 1e-12, the reference settings (rtol 1e-7) reproduce every
read-out of a one-year influenza run to 2e-7 relative.

Example
-------
>>> from awaken.experiments import load_experiment, with_overrides
>>> result = run_group(with_overrides(load_experiment("influenza"), days=20, mice=2))
>>> bool(result.at(15, "dcc_count") > 10 * result.at(0, "dcc_count"))
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from awaken.experiments.protocol import Experiment
from awaken.experiments.results import GroupResult
from awaken.lung import equations
from awaken.lung.compiled import CompiledModel, compiled_model
from awaken.lung.parameters import draw_individuals, load_parameter_table
from awaken.solvers.schedule import Event, animal_setup

__all__ = ["Trajectory", "SolverError", "initial_state", "simulate", "absolute_tolerances", "run_group",
           "PREEQUILIBRATION_DAYS", "RTOL"]

#: Days the untreated model is run before day 0 so that every animal starts at its own equilibrium.
PREEQUILIBRATION_DAYS = 365.0
RTOL = 1e-7


class SolverError(RuntimeError):
    """The integrator failed; the message names the segment and SciPy's reason."""


@dataclass(frozen=True)
class Trajectory:
    """States and read-outs of one animal at the output times."""

    days: np.ndarray
    states: np.ndarray  # (n_states, n_times)
    readouts: dict[str, np.ndarray]
    most_negative: float  # most negative raw state value before clipping (round-off diagnostics)
    n_rhs_evaluations: int

    def state(self, name: str) -> np.ndarray:
        return self.states[equations.STATE_NAMES.index(name)]


def absolute_tolerances(model: CompiledModel, amounts: float = 1e-6, virus: float = 1e-6,
                        fractions: float = 1e-10) -> np.ndarray:
    """Per-state absolute tolerances: ``fractions`` for dimensionless states (they live in [0, 1]),
    ``virus`` for free virus, ``amounts`` for every other state (cells, pg/mL).

    The reference solver uses the defaults: 1e-6 cells (or pg/mL, infectious units/mL) is far below
    any biologically meaningful amount. The fast solver loosens ``amounts`` (see its ``AMOUNT_ATOL``).
    """
    units = {s.name: s.unit for s in equations.STATES}
    return np.array([fractions if units[n] == "dimensionless" else virus if n == "virus" else amounts
                     for n in model.state_names])


def _integrate(model: CompiledModel, theta: np.ndarray, y0: np.ndarray, t0: float, t1: float,
               t_eval: np.ndarray, atol: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    from scipy.integrate import solve_ivp  # here: the fast solver imports this module and needs no SciPy

    def fun(_t: float, y: np.ndarray) -> np.ndarray:
        return model.rhs(y, theta)

    def jac(_t: float, y: np.ndarray) -> np.ndarray:
        return model.jacobian(y, theta)

    sol = solve_ivp(fun, (t0, t1), y0, method="Radau", jac=jac, t_eval=t_eval, rtol=RTOL, atol=atol,
                    dense_output=False)
    if not sol.success:
        raise SolverError(f"integration from day {t0:g} to {t1:g} failed: {sol.message}")
    return sol.y, sol.y[:, -1] if sol.y.size else y0, sol.nfev


def _segment_end_state(model: CompiledModel, theta: np.ndarray, y0: np.ndarray, t0: float, t1: float,
                       atol: np.ndarray) -> tuple[np.ndarray, int]:
    ys, _, nfev = _integrate(model, theta, y0, t0, t1, np.array([t1]), atol)
    return ys[:, -1], nfev


def initial_state(params: dict[str, float], controls: dict[str, float],
                  model: CompiledModel | None = None) -> np.ndarray:
    """The untreated animal at equilibrium, with its whole DCC reservoir (``dcc_initial`` cells).

    Starts from :func:`equations.initial_guess`, runs the uninfected model for
    :data:`PREEQUILIBRATION_DAYS` (the immune and inflammatory states settle; DCCs take their
    resting distribution over the three phenotypes), then rescales the DCC states so that their
    total is ``dcc_initial``.
    """
    model = model or compiled_model()
    values = {**params, **controls}
    theta = model.theta(values)
    guess = equations.initial_guess(values)
    y0 = np.array([guess[n] for n in model.state_names], dtype=float)
    y, _ = _segment_end_state(model, theta, y0, 0.0, PREEQUILIBRATION_DAYS, absolute_tolerances(model))
    y = np.maximum(y, 0.0)
    dcc = [model.index(n) for n in equations.DCC_STATES]
    total = y[dcc].sum()
    if total > 0:
        y[dcc] *= params["dcc_initial"] / total
    return y


def simulate(params: dict[str, float], controls: dict[str, float], events: list[Event], days: float,
             output_days: np.ndarray | None = None, y0: np.ndarray | None = None,
             model: CompiledModel | None = None) -> Trajectory:
    """Simulate one animal from day 0 to ``days``.

    ``controls`` are the values at day 0 (before any event); ``events`` change them (or add to
    states) later. Output is at ``output_days`` (default: every day, 0 .. ``days``).
    """
    model = model or compiled_model()
    if output_days is None:
        output_days = np.arange(0.0, np.floor(days) + 1.0)
    output_days = np.asarray(output_days, dtype=float)
    atol = absolute_tolerances(model)
    current = dict(controls)
    y = initial_state(params, controls, model) if y0 is None else np.array(y0, dtype=float)
    by_day: dict[float, list[Event]] = {}
    for event in events:
        if not 0.0 <= event.day < days:
            raise ValueError(f"event at day {event.day:g} lies outside the run (it must be >= 0 and < {days:g} d)")
        by_day.setdefault(float(event.day), []).append(event)
    boundaries = sorted({0.0, float(days), *by_day})

    columns: list[np.ndarray] = []
    thetas: list[np.ndarray] = []
    nfev = 0
    most_negative = 0.0
    for start, end in zip(boundaries[:-1], boundaries[1:]):
        for event in by_day.get(start, []):
            current.update(event.controls)
            for state, amount in event.state_increments.items():
                y[model.index(state)] += amount
        theta = model.theta({**params, **current})
        last = end == boundaries[-1]
        mask = (output_days >= start) & ((output_days <= end) if last else (output_days < end))
        t_eval = np.unique(np.concatenate([output_days[mask], [end]]))
        ys, y_end, n = _integrate(model, theta, y, start, end, t_eval, atol)
        nfev += n
        most_negative = min(most_negative, float(ys.min()))
        keep = np.isin(t_eval, output_days[mask])
        columns.append(ys[:, keep])
        thetas.extend([theta] * int(keep.sum()))
        y = y_end.copy()

    states = np.maximum(np.concatenate(columns, axis=1), 0.0)
    theta_t = np.stack(thetas, axis=1)
    readouts = model.readouts(states, theta_t)
    return Trajectory(days=output_days, states=states, readouts=readouts, most_negative=most_negative,
                      n_rhs_evaluations=nfev)


def _mouse_frame(trajectory: Trajectory, mouse: int) -> pd.DataFrame:
    frame = {"mouse": np.full(trajectory.days.shape, mouse, dtype=np.int32), "day": trajectory.days}
    frame.update(trajectory.readouts)
    for name in equations.STATE_NAMES:
        frame[f"state_{name}"] = trajectory.state(name)
    return pd.DataFrame(frame)


def run_group(experiment: Experiment, progress: Callable[[int], None] | None = None) -> GroupResult:
    """Simulate every animal of ``experiment``; ``progress(1)`` is called after each animal."""
    table = load_parameter_table(experiment.species)
    model = compiled_model()
    animals = draw_individuals(table, experiment.virus_kind, experiment.mice, experiment.seed, experiment.parameters,
                               variability=experiment.variability)
    frames, rows = [], []
    for mouse, params in enumerate(animals):
        params, controls, events = animal_setup(experiment, params)
        trajectory = simulate(params, controls, events, experiment.days, model=model)
        frames.append(_mouse_frame(trajectory, mouse))
        rows.append({"mouse": mouse, **params})
        if progress is not None:
            progress(1)
    return GroupResult(experiment=experiment, per_mouse=pd.concat(frames, ignore_index=True),
                       parameters=pd.DataFrame(rows), engine="reference")
