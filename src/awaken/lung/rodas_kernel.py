"""Compiled integrator of the fast population solver: Rodas4 with dense output, one individual per thread.

This file is *source for code generation*, not a module to call: :mod:`awaken.lung.population_solver`
appends it to the generated model functions - ``model_rhs(y, p, out)``, ``model_jacobian(y, p,
out)`` (the structurally non-zero entries), ``model_lu_factor(jv, fac, lu)`` and
``model_lu_solve(lu, b)`` (a sparse LU of ``fac*I - J`` unrolled for the Jacobian's structure), all
derived from :mod:`awaken.lung.equations` - and compiles the result with numba, caching the machine
code on disk. Names the generator provides are marked ``noqa: F821``.

The method is Hairer and Wanner's RODAS4 (Solving ODEs II, sect. IV.7; coefficients of ``rodas.f``):
a 6-stage, order-4(3), L-stable, stiffly accurate Rosenbrock method with an order-3 dense output.
One exact Jacobian and one sparse LU factorisation per step, no Newton iterations. The step stops exactly at
events (infection, antibodies on/off), which are applied in the reference solver's order; outputs
between steps come from the dense output, so output days never shorten a step.

Everything an individual's run needs is passed in arrays so that the batch loop is a plain
``prange`` over individuals: results do not depend on the number of threads.
"""

import numpy as np
from numba import njit, prange

GAMMA = 0.25
A21 = 1.544
A31 = 0.9466785280815826
A32 = 0.2557011698983284
A41 = 3.314825187068521
A42 = 2.896124015972201
A43 = 0.9986419139977817
A51 = 1.221224509226641
A52 = 6.019134481288629
A53 = 12.53708332932087
A54 = -0.687886036105895
C21 = -5.6688
C31 = -2.430093356833875
C32 = -0.2063599157091915
C41 = -0.1073529058151375
C42 = -9.594562251023355
C43 = -20.47028614809616
C51 = 7.496443313967647
C52 = -10.24680431464352
C53 = -33.99990352819905
C54 = 11.7089089320616
C61 = 8.083246795921522
C62 = -7.981132988064893
C63 = -31.52159432874371
C64 = 16.31930543123136
C65 = -6.058818238834054
H21 = 10.12623508344586
H22 = -7.487995877610167
H23 = -34.80091861555747
H24 = -7.992771707568823
H25 = 1.025137723295662
H31 = -0.6762803392801253
H32 = 6.087714651680015
H33 = 16.43084320892478
H34 = 24.76722511418386
H35 = -6.594389125716872

STATUS_OK = 0
STATUS_STEP_TOO_SMALL = 1
STATUS_TOO_MANY_STEPS = 2
MAX_STEPS = 200000


@njit(cache=True)
def integrate_segment(y, p, t0, t1, h, rtol, atol, out_days, out, k_out, last, counters):
    """Advance ``y`` (in place) from ``t0`` to ``t1``; write dense output at ``out_days[k_out:]``
    lying in ``(t0, t1)`` (``(t0, t1]`` if ``last``). Returns ``(h, k_out, status)``."""
    n = y.shape[0]
    jac = np.zeros(JACOBIAN_SIZE)  # noqa: F821
    e = np.empty(LU_SIZE)  # noqa: F821
    f = np.empty(n)
    yn = np.empty(n)
    k1 = np.empty(n)
    k2 = np.empty(n)
    k3 = np.empty(n)
    k4 = np.empty(n)
    k5 = np.empty(n)
    k6 = np.empty(n)
    t = t0
    n_out = out_days.shape[0]
    rejected_last = False
    while t < t1:
        if counters[0] >= MAX_STEPS:
            return h, k_out, STATUS_TOO_MANY_STEPS
        if t + 1.01 * h >= t1:
            h = t1 - t
        model_jacobian(y, p, jac)  # noqa: F821
        counters[1] += 1
        model_rhs(y, p, f)  # noqa: F821
        while True:
            if h < 1e-12 * max(1.0, abs(t)):
                return h, k_out, STATUS_STEP_TOO_SMALL
            if not model_lu_factor(jac, 1.0 / (GAMMA * h), e):  # noqa: F821
                h *= 0.5
                continue
            counters[2] += 1
            hinv = 1.0 / h
            for i in range(n):
                k1[i] = f[i]
            model_lu_solve(e, k1)  # noqa: F821
            for i in range(n):
                yn[i] = y[i] + A21 * k1[i]
            model_rhs(yn, p, k2)  # noqa: F821
            for i in range(n):
                k2[i] += C21 * hinv * k1[i]
            model_lu_solve(e, k2)  # noqa: F821
            for i in range(n):
                yn[i] = y[i] + A31 * k1[i] + A32 * k2[i]
            model_rhs(yn, p, k3)  # noqa: F821
            for i in range(n):
                k3[i] += hinv * (C31 * k1[i] + C32 * k2[i])
            model_lu_solve(e, k3)  # noqa: F821
            for i in range(n):
                yn[i] = y[i] + A41 * k1[i] + A42 * k2[i] + A43 * k3[i]
            model_rhs(yn, p, k4)  # noqa: F821
            for i in range(n):
                k4[i] += hinv * (C41 * k1[i] + C42 * k2[i] + C43 * k3[i])
            model_lu_solve(e, k4)  # noqa: F821
            for i in range(n):
                yn[i] = y[i] + A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i]
            model_rhs(yn, p, k5)  # noqa: F821
            for i in range(n):
                k5[i] += hinv * (C51 * k1[i] + C52 * k2[i] + C53 * k3[i] + C54 * k4[i])
            model_lu_solve(e, k5)  # noqa: F821
            for i in range(n):
                yn[i] += k5[i]
            model_rhs(yn, p, k6)  # noqa: F821
            for i in range(n):
                k6[i] += hinv * (C61 * k1[i] + C62 * k2[i] + C63 * k3[i] + C64 * k4[i] + C65 * k5[i])
            model_lu_solve(e, k6)  # noqa: F821
            counters[3] += 6
            err = 0.0
            admissible = True
            for i in range(n):
                yn[i] += k6[i]
                scale = atol[i] + rtol * max(abs(y[i]), abs(yn[i]))
                # The exact solution never leaves the non-negative orthant (every loss is
                # proportional to its state); a step that lands clearly below zero is wrong however
                # small its error estimate, and near-zero denominators (Michaelis-Menten terms)
                # would make the next stages blow up. Such steps are rejected like inaccurate ones.
                if not np.isfinite(yn[i]) or yn[i] < -scale:
                    admissible = False
                err += (k6[i] / scale) ** 2
            err = np.sqrt(err / n)
            if not admissible:
                rejected_last = True
                counters[4] += 1
                h *= 0.25
                continue
            if err <= 1.0:
                t_new = t + h
                while k_out < n_out and (out_days[k_out] < t1 or (last and out_days[k_out] <= t1)) \
                        and out_days[k_out] <= t_new:
                    s = (out_days[k_out] - t) / h
                    for i in range(n):
                        d1 = H21 * k1[i] + H22 * k2[i] + H23 * k3[i] + H24 * k4[i] + H25 * k5[i]
                        d2 = H31 * k1[i] + H32 * k2[i] + H33 * k3[i] + H34 * k4[i] + H35 * k5[i]
                        out[k_out, i] = (1.0 - s) * y[i] + s * (yn[i] + (1.0 - s) * (d1 + s * d2))
                    k_out += 1
                for i in range(n):
                    y[i] = yn[i]
                t = t_new if t_new < t1 else t1
                counters[0] += 1
                growth = 6.0 if err < 1e-10 else min(6.0, max(0.2, 0.9 * err ** -0.25))
                if rejected_last:  # no growth right after a rejection (Hairer and Wanner IV.8)
                    growth = min(growth, 1.0)
                rejected_last = False
                h = h * growth
                break
            counters[4] += 1
            rejected_last = True
            h = h * max(0.2, 0.9 * err ** -0.25)
    return h, k_out, STATUS_OK


@njit(cache=True)
def simulate_individual(p, y, preeq_days, dcc_index, dcc_initial, event_day, event_kind, event_index,
                        event_value, end_day, out_days, rtol, atol, out, counters):
    """One individual: pre-equilibrate (uninfected, ``preeq_days``), rescale the DCC reservoir to
    ``dcc_initial``, then run the schedule to ``end_day``. ``event_kind`` 0 sets parameter
    ``event_index`` to ``event_value``; 1 adds ``event_value`` to state ``event_index``. Returns a status."""
    n_out = out_days.shape[0]
    dummy = np.empty((0, y.shape[0]))
    h, _, status = integrate_segment(y, p, 0.0, preeq_days, 1e-3, rtol, atol, out_days[:0], dummy, 0, False, counters)
    if status != STATUS_OK:
        return status
    for i in range(y.shape[0]):
        if y[i] < 0.0:
            y[i] = 0.0
    total = 0.0
    for i in dcc_index:
        total += y[i]
    if total > 0.0:
        for i in dcc_index:
            y[i] *= dcc_initial / total
    k_out = 0
    t = 0.0
    n_events = event_day.shape[0]
    k_event = 0
    h = min(h, 1e-2)
    while True:
        while k_event < n_events and event_day[k_event] <= t:
            if event_kind[k_event] == 0:
                p[event_index[k_event]] = event_value[k_event]
            else:
                y[event_index[k_event]] += event_value[k_event]
                h = 1e-3
            k_event += 1
        while k_out < n_out and out_days[k_out] <= t:
            for i in range(y.shape[0]):
                out[k_out, i] = y[i]
            k_out += 1
        if t >= end_day:
            break
        t_next = end_day
        if k_event < n_events and event_day[k_event] < t_next:
            t_next = event_day[k_event]
        last = t_next >= end_day
        h, k_out, status = integrate_segment(y, p, t, t_next, h, rtol, atol, out_days, out, k_out, last, counters)
        if status != STATUS_OK:
            return status
        t = t_next
        if last:
            break
    return STATUS_OK


@njit(cache=True, parallel=True)
def simulate_batch(theta, y0, preeq_days, dcc_index, dcc_initial, event_day, event_kind, event_index,
                   event_value, end_day, out_days, rtol, atol, out, status, counters):
    """Every individual of the batch, in parallel; individual ``i`` reads row ``i`` of each array."""
    for i in prange(theta.shape[0]):
        p = theta[i].copy()
        y = y0[i].copy()
        status[i] = simulate_individual(p, y, preeq_days, dcc_index, dcc_initial[i], event_day[i],
                                        event_kind[i], event_index[i], event_value[i], end_day, out_days,
                                        rtol, atol, out[i], counters[i])
