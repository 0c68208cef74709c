"""From a course of a drug to the lung model's drug controls, person by person.

**PK.** Amounts (mg) in a depot (oral, subcutaneous, intraperitoneal doses; ``absorption_rate``,
``bioavailability``), a central and a peripheral compartment; elimination linear plus
Michaelis-Menten (target-mediated), as the population-PK models of the monoclonal antibodies are
written (Frey et al. 2010 for tocilizumab). Integrated with the classical fourth-order Runge-Kutta
method (compiled) on a fixed step of at most half the drug's fastest time constant and at most a
quarter day (:func:`pk_step`), person by person; doses are added at the first step at or after
their time (so a dose acts at most one step late: 3 h for tocilizumab, 1 h for nirmatrelvir; against a
step of a few minutes the bins' blockade differs by at most 0.005-0.035 after the first bin, on average
by 0.0004-0.0015).

**PD.** The target's share blocked is ``Emax C^n / (C^n + EC50^n)``; a dose-effect drug (no PK) holds
``1 - 10^(-Emax_log10 D / (D + ED50))`` from its first dose to the end of its course. The effect is
averaged over the bins of a grid (:func:`bin_edges`: a quarter day for three weeks, then a day), and
the lung model sees it piecewise constant: the model's fastest drug-sensitive response (STAT3 at
1/d) is slower than a quarter day. Several courses at once combine as independent blockades
(``1 - prod(1 - e_k)``); the IL-6 pathway's class effects follow from the combined blockade
(:data:`awaken.lung.equations.DRUG_CONTROLS`).

Example
-------
>>> import numpy as np
>>> from awaken.pharmacology.drugs import Course
>>> from awaken.pharmacology.exposure import drug_controls
>>> edges, controls = drug_controls([("tocilizumab", Course(dose=8, route="iv"), np.array([2.0]))], n=1,
...                                 horizon_days=60.0)
>>> weeks = (edges[:-1] >= 3) & (edges[:-1] < 24)
>>> bool(controls["il6r_blockade"][0, weeks].min() > 0.9)   # blocked for three weeks after one dose
True
>>> bool(controls["il6r_blockade"][0, edges[1:] <= 2].max() == 0.0)   # nothing before the dose
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numba
import numpy as np

from awaken.lung.parameters import RANGE_ATTEMPTS, lognormal_inside
from awaken.pharmacology.drugs import Course, Drug, load_drug_table

__all__ = ["PK_STEP_DAYS", "pk_step", "bin_edges", "concentrations", "target_effect", "drug_controls", "person_pk",
           "BODY_WEIGHT_KG", "DRUG_CONTROL_NAMES", "EFFECT_FLOOR"]

PK_STEP_DAYS = 0.25  # the longest integration step (d); shorter for fast drugs (pk_step)
#: Body weight that turns a mg/kg dose into mg: a person (adult reference, 70 kg) and a mouse (25 g).
BODY_WEIGHT_KG = {"human": 70.0, "mouse": 0.025}
#: Effects below this share are 0 (a drug that has washed out stops making events).
EFFECT_FLOOR = 1e-4
DRUG_CONTROL_NAMES = ("il6r_blockade", "il6_neutralisation", "jak_inhibition", "antiviral_efficacy",
                      "il6_clearance_lost", "neutrophil_supply_lost", "virus_cd8_expansion_lost")


def bin_edges(horizon_days: float, fine_days: float = 21.0, fine: float = 0.25, coarse: float = 1.0) -> np.ndarray:
    """Bin edges from day 0 to ``horizon_days``: ``fine`` wide up to ``fine_days``, then ``coarse``."""
    a = np.arange(0.0, min(fine_days, horizon_days), fine)
    b = np.arange(a[-1] + fine if a.size else 0.0, horizon_days, coarse)
    return np.unique(np.concatenate([a, b, [horizon_days]]))


def person_pk(drug: Drug, deviates: Mapping[str, np.ndarray] | None, n: int) -> dict[str, np.ndarray]:
    """Each person's PK and PD values: the table's value, or for a parameter with a ``cv`` a log-normal
    draw inside its range from ``deviates[name]`` (``(n, RANGE_ATTEMPTS)`` standard normals; the same
    rule as every individual draw, :func:`awaken.lung.parameters.lognormal_inside`)."""
    out = {}
    for p in drug.parameters():
        if p.cv > 0 and deviates is not None and p.name in deviates:
            z = np.asarray(deviates[p.name], dtype=float).reshape(n, RANGE_ATTEMPTS)
            out[p.name] = lognormal_inside(p.value, p.cv, p.range, z)
        else:
            out[p.name] = np.full(n, float(p.value))
    return out


def _dose_mg(drug: Drug, course: Course, weight_kg: float | np.ndarray) -> np.ndarray:
    return np.asarray(course.dose * (weight_kg if drug.dose_unit == "mg/kg" else 1.0), dtype=float)


@numba.njit(cache=True)
def _rates(depot, central, peripheral, into_depot, ka, cl, v1, q, v2, vmax, km):
    c = central / v1
    absorbed = ka * depot if into_depot else 0.0
    elimination = cl * c + vmax * c / (km + c)
    transfer = q * c - q * peripheral / v2
    return -absorbed, absorbed - elimination - transfer, transfer


@numba.njit(cache=True)
def _integrate(dose_step, amount, into_depot, pk, pd, h, n_steps, edges_step, out_conc, out_bins):
    """RK4 over ``n_steps`` of ``h`` for each person (row of ``pk``: ka, CL, V1, Q, V2, Vmax, Km; of ``pd``:
    EC50, Emax, n). Writes concentrations (if ``out_conc`` has columns) and the mean effect in each bin
    ``[edges_step[b], edges_step[b + 1])`` of steps (if ``out_bins`` has columns)."""
    n = pk.shape[0]
    n_doses = dose_step.shape[1]
    want_conc = out_conc.shape[1] > 0
    want_bins = out_bins.shape[1] > 0
    for i in range(n):
        ka, cl, v1, q, v2, vmax, km = pk[i, 0], pk[i, 1], pk[i, 2], pk[i, 3], pk[i, 4], pk[i, 5], pk[i, 6]
        ec50, emax, hill = pd[i, 0], pd[i, 1], pd[i, 2]
        d = 0.0
        c1 = 0.0
        p2 = 0.0
        b = 0
        acc = 0.0
        e_prev = 0.0
        last_dose = 0
        for k in range(n_doses):
            last_dose = max(last_dose, dose_step[i, k])
        for j in range(n_steps + 1):
            # the step that ends at j, with the concentration before a dose given at j
            if want_bins and j > 0:
                conc = c1 / v1
                e = emax * conc**hill / (conc**hill + ec50**hill) if conc > 0.0 else 0.0
                acc += 0.5 * (e + e_prev) * h
                if j == edges_step[b + 1]:
                    out_bins[i, b] = acc / ((edges_step[b + 1] - edges_step[b]) * h)
                    acc = 0.0
                    b += 1
                    if b + 1 >= edges_step.size:
                        break
            for k in range(n_doses):
                if dose_step[i, k] == j:
                    if into_depot:
                        d += amount[i]
                    else:
                        c1 += amount[i]
            conc = c1 / v1
            if want_conc:
                out_conc[i, j] = conc
            e = emax * conc**hill / (conc**hill + ec50**hill) if conc > 0.0 else 0.0
            e_prev = e
            if j == n_steps:
                break
            if want_bins and not want_conc and j > last_dose and e < 1e-3 * EFFECT_FLOOR and d * h <= 1e-3 * c1:
                break  # washed out: the rest of the bins stay 0
            a1, b1, g1 = _rates(d, c1, p2, into_depot, ka, cl, v1, q, v2, vmax, km)
            a2, b2, g2 = _rates(d + 0.5 * h * a1, c1 + 0.5 * h * b1, p2 + 0.5 * h * g1, into_depot, ka, cl, v1, q, v2,
                                vmax, km)
            a3, b3, g3 = _rates(d + 0.5 * h * a2, c1 + 0.5 * h * b2, p2 + 0.5 * h * g2, into_depot, ka, cl, v1, q, v2,
                                vmax, km)
            a4, b4, g4 = _rates(d + h * a3, c1 + h * b3, p2 + h * g3, into_depot, ka, cl, v1, q, v2, vmax, km)
            d += h / 6.0 * (a1 + 2.0 * a2 + 2.0 * a3 + a4)
            c1 = max(c1 + h / 6.0 * (b1 + 2.0 * b2 + 2.0 * b3 + b4), 0.0)
            p2 += h / 6.0 * (g1 + 2.0 * g2 + 2.0 * g3 + g4)


def pk_step(drug: Drug, pk: Mapping[str, np.ndarray] | None = None, route: str | None = None) -> float:
    """The integration step for ``drug``: half its fastest time constant over every person (RK4's local
    error at that step is below 3e-4 of the change), at most :data:`PK_STEP_DAYS`, and dividing a
    quarter day exactly (so bins align with steps). The absorption rate counts only for a route through
    a depot (not ``iv``)."""
    v = pk if pk is not None else {p.name: np.array([p.value]) for p in drug.parameters()}
    v1 = np.asarray(v["central_volume"])
    rates = [np.atleast_1d(v["clearance"] / v1), np.atleast_1d(v["intercompartmental_clearance"] / v1),
             np.atleast_1d(v["intercompartmental_clearance"] / np.asarray(v["peripheral_volume"])),
             np.atleast_1d(v["max_elimination"] / (np.asarray(v["michaelis_constant"]) * v1))]
    if route != "iv":
        rates.append(np.atleast_1d(v["absorption_rate"]))
    fastest = float(np.max(np.concatenate(rates)))
    wanted = min(PK_STEP_DAYS, 0.5 / fastest) if fastest > 0 else PK_STEP_DAYS
    return 0.25 / int(np.ceil(0.25 / wanted - 1e-12))


def _prepare(drug: Drug, course: Course, start_days: np.ndarray, pk: Mapping[str, np.ndarray] | None,
             weight_kg: float | None, h: float):
    if not drug.has_pk:
        raise ValueError(f"{drug.name} has a dose-effect model, not a PK model")
    if course.route not in drug.routes:
        raise ValueError(f"route = {course.route!r}: {drug.name} is given {' or '.join(drug.routes)}")
    n = start_days.size
    v = pk if pk is not None else person_pk(drug, None, n)
    weight = BODY_WEIGHT_KG[drug.species] if weight_kg is None else weight_kg
    into_depot = course.route != "iv"
    f = v["bioavailability"] if into_depot else np.ones(n)
    amount = np.ascontiguousarray(_dose_mg(drug, course, weight) * f * np.ones(n))
    dose_times = start_days[:, None] + course.interval_days * np.arange(course.doses)[None, :]
    # dose k of person i lands at the first step at or after it
    # (a course that is not given - start inf or NaN - never lands)
    steps = np.ceil(np.where(np.isfinite(dose_times), dose_times, -h) / h - 1e-9)
    dose_step = np.ascontiguousarray(np.where(np.isfinite(dose_times), steps, -1).astype(np.int64))
    params = np.ascontiguousarray(np.column_stack([np.broadcast_to(v[k], (n,)) for k in (
        "absorption_rate", "clearance", "central_volume", "intercompartmental_clearance", "peripheral_volume",
        "max_elimination", "michaelis_constant")]), dtype=float)
    pd = np.ascontiguousarray(np.column_stack([np.broadcast_to(v[k], (n,)) for k in ("ec50", "max_effect", "hill")]),
                              dtype=float)
    return dose_step, amount, into_depot, params, pd


def concentrations(drug: Drug, course: Course, start_days: np.ndarray, days: float,
                   pk: Mapping[str, np.ndarray] | None = None, weight_kg: float | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Central concentration (mg/L) of person ``i`` given ``course`` from ``start_days[i]``, on the
    drug's integration grid from 0 to ``days``: ``(times, (n, len(times)))``."""
    start_days = np.asarray(start_days, dtype=float)
    h = pk_step(drug, pk, course.route)
    n_steps = int(round(days / h))
    dose_step, amount, into_depot, params, pd = _prepare(drug, course, start_days, pk, weight_kg, h)
    out = np.zeros((start_days.size, n_steps + 1))
    _integrate(dose_step, amount, into_depot, params, pd, h, n_steps, np.zeros(2, np.int64), out,
               np.zeros((start_days.size, 0)))
    return np.arange(n_steps + 1) * h, out


def target_effect(drug: Drug, course: Course, start_days: np.ndarray, edges: np.ndarray,
                  pk: Mapping[str, np.ndarray] | None = None, weight_kg: float | None = None) -> np.ndarray:
    """Share of the drug's target blocked, averaged over each bin of ``edges`` (multiples of a quarter
    day): ``(n, len(edges) - 1)``."""
    start_days = np.asarray(start_days, dtype=float)
    n = start_days.size
    v = pk if pk is not None else person_pk(drug, None, n)
    if not drug.has_pk:
        dose = course.dose
        if drug.species == "mouse" and drug.dose_unit == "mg/kg":
            dose = course.dose * drug.human_equivalent_factor * 60.0  # human-equivalent mg (see the table)
        emax, ed50 = v["max_log10_reduction"], v["ed50"]
        level = 1.0 - 10.0 ** (-emax * dose / (dose + ed50))
        on = np.where(np.isfinite(start_days), start_days, np.inf)[:, None]
        off = on + course.doses * course.interval_days
        lo, hi = edges[None, :-1], edges[None, 1:]
        covered = np.clip(np.minimum(hi, off) - np.maximum(lo, on), 0.0, None) / (hi - lo)
        effect = level[:, None] * covered
    else:
        h = pk_step(drug, v, course.route)
        edges_step = np.round(edges / h).astype(np.int64)
        if np.any(np.abs(edges_step * h - edges) > 1e-9):
            raise ValueError("bin edges must be multiples of a quarter day")
        dose_step, amount, into_depot, params, pd = _prepare(drug, course, start_days, v, weight_kg, h)
        effect = np.zeros((n, edges.size - 1))
        _integrate(dose_step, amount, into_depot, params, pd, h, int(edges_step[-1]), edges_step,
                   np.zeros((n, 0)), effect)
    return np.where(effect < EFFECT_FLOOR, 0.0, np.minimum(effect, 1.0))


def drug_controls(courses: Sequence[tuple[str, Course, np.ndarray]], n: int, horizon_days: float,
                  pk: Mapping[str, Mapping[str, np.ndarray]] | None = None, edges: np.ndarray | None = None,
                  weight_kg: float | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The lung model's drug controls (:data:`DRUG_CONTROL_NAMES`) per person and bin, for ``courses``
    given together: ``(drug name, course, start day per person)``. ``pk`` maps a drug name to its
    persons' PK values (:func:`person_pk`; nominal when absent). Returns the bin edges and
    control -> ``(n, bins)``."""
    table = load_drug_table()
    edges = bin_edges(horizon_days) if edges is None else edges
    blocked = {target: np.zeros((n, edges.size - 1)) for target in
               ("il6r_blockade", "il6_neutralisation", "jak_inhibition", "antiviral_efficacy")}
    for name, course, start in courses:
        drug = table.drug(name)
        e = target_effect(drug, course, np.broadcast_to(np.asarray(start, dtype=float), (n,)), edges,
                          None if pk is None else pk.get(name), weight_kg)
        blocked[drug.target] = 1.0 - (1.0 - blocked[drug.target]) * (1.0 - e)
    pathway = 1.0 - (1.0 - blocked["il6r_blockade"]) * (1.0 - blocked["il6_neutralisation"]) \
        * (1.0 - blocked["jak_inhibition"])
    controls = dict(blocked)
    controls["il6_clearance_lost"] = table.class_effect("il6_receptor_clearance_share") * blocked["il6r_blockade"]
    controls["neutrophil_supply_lost"] = table.class_effect("il6_blockade_neutrophil_reduction") * pathway
    controls["virus_cd8_expansion_lost"] = table.class_effect("il6_blockade_cd8_penalty") * pathway
    return edges, controls
