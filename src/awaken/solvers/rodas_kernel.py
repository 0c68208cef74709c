"""Compiled integrator of the fast population solver: Rodas4 with dense output, individuals in SIMD lanes.

This file is *source for code generation*, not a module to call: :mod:`awaken.solvers.fast`
appends it to the generated model functions, all derived from :mod:`awaken.lung.equations` and all
working on ``LANES`` individuals at once (flat arrays, row ``r`` of lane ``l`` at ``r * LANES + l``):
``model_rhs(y, p, out, lanes)``, ``model_jacobian(y, p, out, lanes)`` (the structurally non-zero
entries), ``model_lu_factor(jv, fac, lu, lanes)`` (a sparse LU of ``fac*I - J`` unrolled for the
Jacobian's structure), ``model_lu_solve(lu, b, lanes)`` and ``model_pivots_ok(lu, lane)``, plus the
constants ``LANES``, ``N_STATES``, ``N_PARAMETERS``, ``JACOBIAN_SIZE`` and ``LU_SIZE``. The result is
compiled with numba (``error_model="numpy"``: a division by zero gives inf, not a Python exception,
so the loops have no branch and vectorise), caching the machine code on disk. Names the generator
provides are exempt from the undefined-name check.

The method is Hairer and Wanner's RODAS4 (Solving ODEs II, sect. IV.7; coefficients of ``rodas.f``):
a 6-stage, order-4(3), L-stable, stiffly accurate Rosenbrock method with an order-3 dense output.
One exact Jacobian and one sparse LU factorisation per step, no Newton iterations. The step stops
exactly at events (infection, antibodies on/off), which are applied in the reference solver's order;
outputs between steps come from the dense output, so output days never shorten a step.

Lanes. The arithmetic of a step (Jacobian, right-hand sides, LU, solves, error norm) is the same
straight-line code for every individual, so ``LANES`` individuals run side by side and the compiler
turns each loop over lanes into vector instructions. Every lane keeps its *own* time, step size,
error control and schedule - a lane is an independent integration, not a lock-step one - and the
bookkeeping that branches (accepting or rejecting a step, dense output, events, the end of a run)
is done lane by lane. A lane whose individual is finished takes the next one of its chunk, so the
lanes stay busy. Because a lane's arithmetic never mixes with another lane's, an individual's result
does not depend on which lane, chunk or thread ran it, nor on the batch it came in (tested).
"""

# ruff: noqa: F821 - LANES, N_STATES, the sizes and the model_* functions come from the generator (above).
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

# Phases of a lane.
IDLE = -1
PREEQUILIBRATION = 0
SCHEDULE = 1

# counters[i, :] of an individual: accepted steps, Jacobians, LU factorisations, right-hand sides, rejected steps.
ACCEPTED, JACOBIANS, FACTORISATIONS, RHS, REJECTED = 0, 1, 2, 3, 4


@njit(cache=True, error_model="numpy")
def rodas_stages(y, p, h, rtol, atol, f, jv, e, fac, hinv, yn, k1, k2, k3, k4, k5, k6, err, admissible):
    """One Rodas4 step of size ``h[l]`` from ``y`` in every lane: the new state in ``yn``, the stages
    in ``k1..k6`` (for the dense output), the scaled RMS error in ``err`` and in ``admissible`` whether
    the new state is finite and not clearly negative."""
    n = N_STATES
    lanes = h.shape[0]  # = LANES, as a run-time trip count: the compiler vectorises the loops instead of unrolling them
    for lane in range(lanes):
        fac[lane] = 1.0 / (GAMMA * h[lane])
        hinv[lane] = 1.0 / h[lane]
    model_jacobian(y, p, jv, lanes)
    model_rhs(y, p, f, lanes)
    model_lu_factor(jv, fac, e, lanes)
    for i in range(n):
        b = i * LANES
        for lane in range(lanes):
            k1[b + lane] = f[b + lane]
    model_lu_solve(e, k1, lanes)
    for i in range(n):
        b = i * LANES
        for lane in range(lanes):
            yn[b + lane] = y[b + lane] + A21 * k1[b + lane]
    model_rhs(yn, p, k2, lanes)
    for i in range(n):
        b = i * LANES
        for lane in range(lanes):
            k2[b + lane] += C21 * hinv[lane] * k1[b + lane]
    model_lu_solve(e, k2, lanes)
    for i in range(n):
        b = i * LANES
        for lane in range(lanes):
            yn[b + lane] = y[b + lane] + A31 * k1[b + lane] + A32 * k2[b + lane]
    model_rhs(yn, p, k3, lanes)
    for i in range(n):
        b = i * LANES
        for lane in range(lanes):
            k3[b + lane] += hinv[lane] * (C31 * k1[b + lane] + C32 * k2[b + lane])
    model_lu_solve(e, k3, lanes)
    for i in range(n):
        b = i * LANES
        for lane in range(lanes):
            yn[b + lane] = y[b + lane] + A41 * k1[b + lane] + A42 * k2[b + lane] + A43 * k3[b + lane]
    model_rhs(yn, p, k4, lanes)
    for i in range(n):
        b = i * LANES
        for lane in range(lanes):
            k4[b + lane] += hinv[lane] * (C41 * k1[b + lane] + C42 * k2[b + lane] + C43 * k3[b + lane])
    model_lu_solve(e, k4, lanes)
    for i in range(n):
        b = i * LANES
        for lane in range(lanes):
            yn[b + lane] = (y[b + lane] + A51 * k1[b + lane] + A52 * k2[b + lane] + A53 * k3[b + lane]
                            + A54 * k4[b + lane])
    model_rhs(yn, p, k5, lanes)
    for i in range(n):
        b = i * LANES
        for lane in range(lanes):
            k5[b + lane] += hinv[lane] * (C51 * k1[b + lane] + C52 * k2[b + lane] + C53 * k3[b + lane]
                                         + C54 * k4[b + lane])
    model_lu_solve(e, k5, lanes)
    for i in range(n):
        b = i * LANES
        for lane in range(lanes):
            yn[b + lane] += k5[b + lane]
    model_rhs(yn, p, k6, lanes)
    for i in range(n):
        b = i * LANES
        for lane in range(lanes):
            k6[b + lane] += hinv[lane] * (C61 * k1[b + lane] + C62 * k2[b + lane] + C63 * k3[b + lane]
                                         + C64 * k4[b + lane] + C65 * k5[b + lane])
    model_lu_solve(e, k6, lanes)
    for lane in range(lanes):
        err[lane] = 0.0
        admissible[lane] = 1.0
    for i in range(n):
        b = i * LANES
        for lane in range(lanes):
            new = yn[b + lane] + k6[b + lane]
            yn[b + lane] = new
            scale = atol[i] + rtol * max(abs(y[b + lane]), abs(new))
            # The exact solution never leaves the non-negative orthant (every loss is proportional
            # to its state); a step that lands clearly below zero is wrong however small its error
            # estimate, and near-zero denominators (Michaelis-Menten terms) would make the next
            # stages blow up. Such steps, and non-finite ones, are rejected like inaccurate ones.
            fine = new >= -scale and abs(new) < np.inf
            admissible[lane] = min(admissible[lane], 1.0 if fine else 0.0)
            ratio = k6[b + lane] / scale
            err[lane] += ratio * ratio
    for lane in range(lanes):
        err[lane] = np.sqrt(err[lane] / n)


@njit(cache=True, error_model="numpy")
def _load(lane, i, theta, y0, preeq_days, y, p, t, t_end, h, phase, k_out, k_event, rejected_last):
    """Put individual ``i`` into ``lane``: its parameters, its starting state, its pre-equilibration."""
    for j in range(N_PARAMETERS):
        p[j * LANES + lane] = theta[i, j]
    for s in range(N_STATES):
        y[s * LANES + lane] = y0[i, s]
    t[lane] = 0.0
    t_end[lane] = preeq_days
    h[lane] = 1e-3
    phase[lane] = PREEQUILIBRATION
    k_out[lane] = 0
    k_event[lane] = 0
    rejected_last[lane] = False


@njit(cache=True, error_model="numpy")
def _next_segment(lane, i, y, p, t, t_end, h, k_out, k_event, last, event_day, event_kind, event_index,
                  event_value, end_day, out_days, out, out_slot, picked, picked_states):
    """At the start of a schedule segment (time ``t[lane]``): apply the events due, record the
    outputs due, and set the segment's end (the next event or the end of the run). Returns False
    when the run is over."""
    n_events = event_day.shape[1]
    n_out = out_days.shape[0]
    while k_event[lane] < n_events and event_day[i, k_event[lane]] <= t[lane]:
        k = k_event[lane]
        if event_kind[i, k] == 0:
            p[event_index[i, k] * LANES + lane] = event_value[i, k]
        else:
            y[event_index[i, k] * LANES + lane] += event_value[i, k]
            h[lane] = 1e-3
        k_event[lane] += 1
    while k_out[lane] < n_out and out_days[k_out[lane]] <= t[lane]:
        k = k_out[lane]
        if out_slot[k] >= 0:
            for s in range(N_STATES):
                out[i, out_slot[k], s] = max(y[s * LANES + lane], 0.0)
        for m in range(picked_states.shape[0]):
            picked[i, k, m] = max(y[picked_states[m] * LANES + lane], 0.0)
        k_out[lane] += 1
    if t[lane] >= end_day:
        return False
    t_next = end_day
    if k_event[lane] < n_events and event_day[i, k_event[lane]] < t_next:
        t_next = event_day[i, k_event[lane]]
    t_end[lane] = t_next
    last[lane] = t_next >= end_day
    return True


@njit(cache=True, error_model="numpy")
def _dense_output(lane, i, t0, h, t_new, t_end, last, y, yn, k1, k2, k3, k4, k5, out_days, k_out, out, out_slot,
                  picked, picked_states, d1, d2):
    """Write the output days that fall in the accepted step ``(t0, t_new]`` (and in the segment) from
    the order-3 dense output, clipped at 0 like the reference solver's output: every state into
    ``out[i, out_slot[k]]`` where ``out_slot[k] >= 0``, the states ``picked_states`` into
    ``picked[i, k]`` at every output day ``k``. Returns the next output.
    The interpolant's coefficients (``d1``, ``d2``: scratch) are formed once per step that has an
    output, not once per output day: on a fine output grid (a population's quarter-day screen)
    many days share a step."""
    k = k_out
    if not (k < out_days.shape[0] and out_days[k] <= t_new and (out_days[k] < t_end or (last and out_days[k] <= t_end))):
        return k
    for j in range(N_STATES):
        x = j * LANES + lane
        d1[j] = H21 * k1[x] + H22 * k2[x] + H23 * k3[x] + H24 * k4[x] + H25 * k5[x]
        d2[j] = H31 * k1[x] + H32 * k2[x] + H33 * k3[x] + H34 * k4[x] + H35 * k5[x]
    while k < out_days.shape[0] and out_days[k] <= t_new and (out_days[k] < t_end or (last and out_days[k] <= t_end)):
        s = (out_days[k] - t0) / h
        if out_slot[k] >= 0:
            for j in range(N_STATES):
                x = j * LANES + lane
                out[i, out_slot[k], j] = max((1.0 - s) * y[x] + s * (yn[x] + (1.0 - s) * (d1[j] + s * d2[j])), 0.0)
        for m in range(picked_states.shape[0]):
            j = picked_states[m]
            x = j * LANES + lane
            picked[i, k, m] = max((1.0 - s) * y[x] + s * (yn[x] + (1.0 - s) * (d1[j] + s * d2[j])), 0.0)
        k += 1
    return k


@njit(cache=True, error_model="numpy")
def _end_preequilibration(lane, y, dcc_index, dcc_initial):
    """As the reference solver does after 365 uninfected days: clip at 0, rescale the DCC reservoir."""
    for j in range(N_STATES):
        y[j * LANES + lane] = max(y[j * LANES + lane], 0.0)
    total = 0.0
    for j in dcc_index:
        total += y[j * LANES + lane]
    if total > 0.0:
        for j in dcc_index:
            y[j * LANES + lane] *= dcc_initial / total


@njit(cache=True, error_model="numpy")
def _step_factor(err):
    """The usual order-4 controller, 0.9 err^(-1/4) within [0.2, 6] (two square roots: cheaper than a power)."""
    if err < 1e-10:
        return 6.0
    return min(6.0, max(0.2, 0.9 / np.sqrt(np.sqrt(err))))


@njit(cache=True, error_model="numpy")
def simulate_chunk(first, stop, theta, y0, preeq_days, dcc_index, dcc_initial, event_day, event_kind, event_index,
                   event_value, end_day, out_days, rtol, atol, out, out_slot, picked, picked_states, status, counters):
    """Individuals ``first .. stop-1``, ``LANES`` at a time. Each is pre-equilibrated (uninfected,
    ``preeq_days``), its DCC reservoir rescaled to ``dcc_initial[i]``, then run through its schedule
    to ``end_day``. ``event_kind`` 0 sets parameter ``event_index`` to ``event_value``; 1 adds
    ``event_value`` to state ``event_index``."""
    n = N_STATES
    y = np.ones(n * LANES)
    p = np.ones(N_PARAMETERS * LANES)
    f = np.empty(n * LANES)
    yn = np.empty(n * LANES)
    k1 = np.empty(n * LANES)
    k2 = np.empty(n * LANES)
    k3 = np.empty(n * LANES)
    k4 = np.empty(n * LANES)
    k5 = np.empty(n * LANES)
    k6 = np.empty(n * LANES)
    d1 = np.empty(n)
    d2 = np.empty(n)
    jv = np.empty(JACOBIAN_SIZE * LANES)
    e = np.empty(LU_SIZE * LANES)
    fac = np.empty(LANES)
    hinv = np.empty(LANES)
    err = np.empty(LANES)
    admissible = np.empty(LANES)
    who = np.full(LANES, -1)
    phase = np.full(LANES, IDLE)
    t = np.zeros(LANES)
    t_end = np.zeros(LANES)
    h = np.ones(LANES)
    last = np.zeros(LANES, dtype=np.bool_)
    rejected_last = np.zeros(LANES, dtype=np.bool_)
    k_out = np.zeros(LANES, dtype=np.int64)
    k_event = np.zeros(LANES, dtype=np.int64)
    queue = first
    while True:
        busy = 0
        for lane in range(LANES):
            if phase[lane] == IDLE and queue < stop:
                who[lane] = queue
                _load(lane, queue, theta, y0, preeq_days, y, p, t, t_end, h, phase, k_out, k_event, rejected_last)
                queue += 1
            if phase[lane] == IDLE:
                h[lane] = 1.0  # an idle lane computes harmless numbers that nobody reads
                continue
            busy += 1
            if t[lane] + 1.01 * h[lane] >= t_end[lane]:
                h[lane] = t_end[lane] - t[lane]
        if busy == 0:
            return
        rodas_stages(y, p, h, rtol, atol, f, jv, e, fac, hinv, yn, k1, k2, k3, k4, k5, k6, err, admissible)
        for lane in range(LANES):
            if phase[lane] == IDLE:
                continue
            i = who[lane]
            counters[i, JACOBIANS] += 1
            if not model_pivots_ok(e, lane):
                h[lane] *= 0.5
            elif admissible[lane] == 0.0 or err[lane] > 1.0:
                counters[i, FACTORISATIONS] += 1
                counters[i, RHS] += 6
                counters[i, REJECTED] += 1
                rejected_last[lane] = True
                h[lane] *= 0.25 if admissible[lane] == 0.0 else _step_factor(err[lane])
            else:
                counters[i, FACTORISATIONS] += 1
                counters[i, RHS] += 6
                counters[i, ACCEPTED] += 1
                t_new = t[lane] + h[lane]
                if phase[lane] == SCHEDULE:
                    k_out[lane] = _dense_output(lane, i, t[lane], h[lane], t_new, t_end[lane], last[lane], y, yn,
                                                k1, k2, k3, k4, k5, out_days, k_out[lane], out, out_slot, picked,
                                                picked_states, d1, d2)
                for j in range(n):
                    y[j * LANES + lane] = yn[j * LANES + lane]
                t[lane] = min(t_new, t_end[lane])
                growth = _step_factor(err[lane])
                if rejected_last[lane]:  # no growth right after a rejection (Hairer and Wanner IV.8)
                    growth = min(growth, 1.0)
                rejected_last[lane] = False
                h[lane] *= growth
                if t[lane] >= t_end[lane]:  # the segment is over
                    running = not (phase[lane] == SCHEDULE and last[lane])
                    if phase[lane] == PREEQUILIBRATION:
                        _end_preequilibration(lane, y, dcc_index, dcc_initial[i])
                        phase[lane] = SCHEDULE
                        t[lane] = 0.0
                        h[lane] = min(h[lane], 1e-2)
                    if running:
                        running = _next_segment(lane, i, y, p, t, t_end, h, k_out, k_event, last, event_day,
                                                event_kind, event_index, event_value, end_day, out_days, out,
                                                out_slot, picked, picked_states)
                    if not running:
                        phase[lane] = IDLE
                        continue
            if counters[i, ACCEPTED] >= MAX_STEPS:
                status[i] = STATUS_TOO_MANY_STEPS
                phase[lane] = IDLE
            elif h[lane] < 1e-12 * max(1.0, abs(t[lane])):
                status[i] = STATUS_STEP_TOO_SMALL
                phase[lane] = IDLE


@njit(cache=True, parallel=True)
def simulate_batch(theta, y0, preeq_days, dcc_index, dcc_initial, event_day, event_kind, event_index,
                   event_value, end_day, out_days, rtol, atol, out, out_slot, picked, picked_states, status, counters,
                   chunks):
    """Every individual of the batch in ``chunks`` contiguous chunks run in parallel (one per thread),
    ``LANES`` individuals at a time in each; individual ``i`` reads row ``i`` of each array. Output
    day ``k`` stores every state in ``out[i, out_slot[k]]`` (if ``out_slot[k] >= 0``) and the states
    ``picked_states`` in ``picked[i, k]``: a fine screening grid need not store every state."""
    n = theta.shape[0]
    size = (n + chunks - 1) // chunks
    for c in prange(chunks):
        simulate_chunk(c * size, min(n, (c + 1) * size), theta, y0, preeq_days, dcc_index, dcc_initial, event_day,
                       event_kind, event_index, event_value, end_day, out_days, rtol, atol, out, out_slot, picked,
                       picked_states, status, counters)
