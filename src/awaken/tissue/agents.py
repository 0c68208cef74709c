"""The section's cells: the alveolar epithelium on a lattice, and agents - neutrophils, CD4 and CD8
T cells, disseminated cancer cells (DCCs) - that move, sense, divide, change state and die.

Each time step (:func:`advance`) every cell decides from the state at the start of the step (the
fields, and how many cells of each kind sit in the 3 x 3 voxel window around it), with random
numbers keyed by ``(seed, agent, step, purpose)`` (:mod:`awaken.tissue.random_numbers`), so no
decision depends on the order in which cells are visited. Behaviours follow the rules of
``data/rules.csv``:

* **epithelium** (uninfected -> eclipse -> producing -> dead -> repaired): infection by the local
  virus; producing cells die on their own and, near virus-specific CD8 effectors, are killed;
  dead cells are repaired (Myers et al. 2021, via the lung model);
* **DCCs** carry the lung model's phenotypes: dormant mesenchymal -> hybrid E/M -> proliferating
  epithelial-like, driven by their own STAT3 activity (which follows the local IL-6, Hill power 3),
  back towards dormancy as STAT3 fades; hybrid and proliferating cells divide where the matrix is
  remodelled by neutrophil NETs; proliferating cells are killed by tumour-reactive CD8 effectors
  nearby, less so where CD4 aggregates sit (Chia et al. 2025);
* **neutrophils** enter at vessels, drawn by the epithelial chemokine, and leave NETs behind;
* **CD4 T cells** divide with the delayed antigen signal, are drawn to the lesion chemokine and,
  next to proliferating DCCs, join lesion aggregates (iBALT-like);
* **CD8 T cells**: virus-specific effectors (recruited by infection, chemotaxis to the epithelial
  chemokine) and tumour-reactive cells: resting cells patrol; effectors, primed in the draining
  lymph node by the lesions' antigen (the engine computes that flux at the lung's scale), enter at
  vessels near lesions, expand next to proliferating DCCs and kill them, both held back by nearby
  CD4 aggregates.

"Lung-equivalent" densities turn a count in a window into the whole-lung number the lung model's
half-maxima are written in (count x voxels per section / window voxels / section fraction of the
lung), so a rule written once for the lung reads the same locally.

The kernels are numba (a pass over 10^5 agents takes a few milliseconds); they are serial, and
replicates run in parallel (:mod:`awaken.tissue.engine`), so any thread count gives the same bytes.
"""

from __future__ import annotations

import numba
import numpy as np

from awaken.tissue.random_numbers import poisson, uniform

__all__ = ["KINDS", "EPITHELIUM", "K", "advance", "voxel_counts"]

#: Agent kinds (``kind`` column of the per-agent tables).
KINDS: tuple[str, ...] = ("neutrophil", "cd4", "cd4_aggregate", "cd8_virus_effector", "cd8_resting",
                          "cd8_tumour_effector", "dcc_dormant", "dcc_hybrid", "dcc_proliferating")
NEUTROPHIL, CD4, CD4_AGG, CD8_VIRUS, CD8_RESTING, CD8_TUMOUR, DCC_DORMANT, DCC_HYBRID, DCC_PROLIF = range(9)
N_KINDS = 9
#: Epithelial states.
EPITHELIUM: tuple[str, ...] = ("uninfected", "eclipse", "producing", "dead", "repaired")
UNINFECTED, ECLIPSE, PRODUCING, DEAD, REPAIRED = range(5)

#: Index of each number in the kernel's parameter vector (filled by the engine from the rules).
K: dict[str, int] = {name: i for i, name in enumerate((
    "dt", "voxel_um", "lung_per_window", "virus_infectivity", "eclipse_exit", "infected_clearance",
    "cd8_clear_infected", "cd8_clear_half", "repair", "stat3_rate", "stat3_half", "stat3_hill", "mech_stat3",
    "awakening", "progression", "reversion", "hybrid_division", "prolif_division", "dormant_death", "awake_death",
    "killing_rate", "killing_half", "mech_killing", "supp_half", "mech_supp", "neutrophil_death", "cd4_death",
    "cd4_aggregate_death", "cd4_division", "cd4_aggregation", "cd4_aggregation_half", "cd8_virus_death",
    "cd8_virus_division", "cd8_resting_death", "antigen_half", "cd8_tumour_expansion",
    "cd8_tumour_death", "t_speed", "t_bias", "neutrophil_speed", "neutrophil_bias", "aggregate_speed",
    "daughter_um", "chemotaxis_half", "influx_neutrophil", "influx_cd4", "influx_cd8_virus", "influx_cd8_resting",
    "influx_dcc",    "influx_cd8_tumour",
))}
_P = {f"_K_{name.upper()}": i for name, i in K.items()}
globals().update(_P)

# purposes (random_numbers.PURPOSES)
_DEATH, _TRANSITION, _DIVISION, _ANGLE, _DAUGHTER, _INFLUX_COUNT, _INFLUX_PLACE = 1, 2, 3, 4, 5, 6, 7
_INFECTION, _ECLIPSE_EXIT, _INFECTED_DEATH, _REPAIR, _AGGREGATION, _KILLING, _INFLUX_PLACE_2 = 8, 9, 10, 11, 13, 14, 15
_DAUGHTER_DISTANCE = 16
#: Agent ids of the epithelium (``agent`` coordinate of its draws) start here; influx counts use
#: ids below 100.
EPITHELIUM_ID_OFFSET = 1 << 40


@numba.njit(cache=True)
def voxel_counts(x, y, kind, n, nv, voxel_um):
    """Cells of each kind in each voxel: array (kind, row, column)."""
    counts = np.zeros((N_KINDS, nv, nv), dtype=np.int32)
    for i in range(n):
        if kind[i] >= 0:
            counts[kind[i], int(y[i] / voxel_um) % nv, int(x[i] / voxel_um) % nv] += 1
    return counts


@numba.njit(cache=True, inline="always")
def _window(grid, r, c, nv):
    total = 0.0
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            total += grid[(r + dr) % nv, (c + dc) % nv]
    return total


@numba.njit(cache=True, inline="always")
def _happens(rate, dt, seed, agent, step, purpose):
    return rate > 0.0 and uniform(seed, agent, step, purpose) < -np.expm1(-rate * dt)


@numba.njit(cache=True, inline="always")
def _move(x, y, field, r, c, nv, size, speed_um, bias, half, seed, agent, step):
    # Biased random walk: direction = bias * up-gradient + (1 - bias) * random (PhysiCell's motility);
    # the bias saturates with the local concentration (receptor occupancy), so where the signal is
    # only a trace cells wander instead of converging on the last faint source.
    bias = bias * field[r, c] / (field[r, c] + half)
    gx = (field[r, (c + 1) % nv] - field[r, (c - 1) % nv])
    gy = (field[(r + 1) % nv, c] - field[(r - 1) % nv, c])
    norm = np.sqrt(gx * gx + gy * gy)
    angle = 2.0 * np.pi * uniform(seed, agent, step, _ANGLE)
    dx = (1.0 - bias) * np.cos(angle)
    dy = (1.0 - bias) * np.sin(angle)
    if norm > 1e-12 * (abs(field[r, c]) + 1e-300):
        dx += bias * gx / norm
        dy += bias * gy / norm
    length = np.sqrt(dx * dx + dy * dy)
    if length > 0.0:
        x = (x + speed_um * dx / length) % size
        y = (y + speed_um * dy / length) % size
    return x, y


@numba.njit(cache=True)
def _place_at_vessel(vessels, weights, nv, voxel_um, seed, agent, step):
    total = 0.0
    for v in range(vessels.size):
        total += weights[v]
    target = uniform(seed, agent, step, _INFLUX_PLACE) * total
    chosen = vessels.size - 1
    running = 0.0
    for v in range(vessels.size):
        running += weights[v]
        if running >= target:
            chosen = v
            break
    r = vessels[chosen] // nv
    c = vessels[chosen] % nv
    x = (c + uniform(seed, agent, step, _INFLUX_PLACE_2)) * voxel_um
    y = (r + uniform(seed, agent + 1, step, _INFLUX_PLACE_2)) * voxel_um
    return x, y


@numba.njit(cache=True, inline="always")
def _new_uid(next_uid, kind):
    # Each kind numbers its own agents (kind at birth in the high bits), so the identities - and with
    # them the random numbers - of one kind never shift because another kind is present or absent
    # (a wild-type section without DCCs meets the same virus and immune cells as an MMTV-Her2 one).
    number = next_uid[kind]
    next_uid[kind] += 1
    return (np.int64(kind) << 40) + number


@numba.njit(cache=True)
def advance(step, seed, k, epithelium, x, y, kind, uid, stat3, n, next_uid, virus, il6, chemokine, lesion,
            remodelling, vessels, nv):
    """One time step of every cell. Returns ``(n, counts, producing)``: the number of agents after the
    step (dead removed, daughters and recruits appended in a fixed order; ``next_uid``, one counter
    per kind, is advanced in place) and the voxel counts of each kind and of producing epithelial
    cells at the start of the step (the fields' sources use them)."""
    dt = k[_K_DT]
    vox = k[_K_VOXEL_UM]
    size = nv * vox
    lpw = k[_K_LUNG_PER_WINDOW]
    minutes = dt * 1440.0
    counts = voxel_counts(x, y, kind, n, nv, vox)
    ne = epithelium.shape[0]
    per = ne // nv
    producing = np.zeros((nv, nv))
    for r in range(ne):
        for c in range(ne):
            if epithelium[r, c] == PRODUCING:
                producing[r // per, c // per] += 1.0
    epi_lpw = lpw * nv * nv / (ne * ne)  # an epithelial cell stands for fewer lung cells than a voxel

    # --- epithelium ---
    for r in range(ne):
        for c in range(ne):
            state = epithelium[r, c]
            agent = EPITHELIUM_ID_OFFSET + r * ne + c
            vr, vc = r // per, c // per
            if state == UNINFECTED:
                if _happens(k[_K_VIRUS_INFECTIVITY] * virus[vr, vc], dt, seed, agent, step, _INFECTION):
                    epithelium[r, c] = ECLIPSE
            elif state == ECLIPSE:
                if _happens(k[_K_ECLIPSE_EXIT], dt, seed, agent, step, _ECLIPSE_EXIT):
                    epithelium[r, c] = PRODUCING
            elif state == PRODUCING:
                effectors = _window(counts[CD8_VIRUS], vr, vc, nv) * lpw
                infected = _window(producing, vr, vc, nv) * epi_lpw
                rate = k[_K_INFECTED_CLEARANCE] + k[_K_CD8_CLEAR_INFECTED] * effectors / (
                    k[_K_CD8_CLEAR_HALF] + infected)
                if _happens(rate, dt, seed, agent, step, _INFECTED_DEATH):
                    epithelium[r, c] = DEAD
            elif state == DEAD:
                if _happens(k[_K_REPAIR], dt, seed, agent, step, _REPAIR):
                    epithelium[r, c] = REPAIRED

    # --- agents ---
    births = 0
    born_x = np.empty(n)
    born_y = np.empty(n)
    born_kind = np.empty(n, dtype=np.int8)
    born_stat3 = np.empty(n)
    for i in range(n):
        kd = kind[i]
        me = uid[i]
        c = int(x[i] / vox) % nv
        r = int(y[i] / vox) % nv
        aggregates = _window(counts[CD4_AGG], r, c, nv) * lpw
        suppression = 1.0 / (1.0 + k[_K_MECH_SUPP] * aggregates / k[_K_SUPP_HALF])
        if kd >= DCC_DORMANT:
            # STAT3 follows the local IL-6 exactly over the step (first-order response).
            signal = il6[r, c] ** k[_K_STAT3_HILL]
            target = k[_K_MECH_STAT3] * signal / (signal + k[_K_STAT3_HALF] ** k[_K_STAT3_HILL])
            s = target + (stat3[i] - target) * np.exp(-k[_K_STAT3_RATE] * dt)
            stat3[i] = s
            death = k[_K_DORMANT_DEATH] if kd == DCC_DORMANT else k[_K_AWAKE_DEATH]
            if kd == DCC_PROLIF:
                effectors = _window(counts[CD8_TUMOUR], r, c, nv) * lpw
                lesion_cells = _window(counts[DCC_PROLIF], r, c, nv) * lpw
                death += (k[_K_MECH_KILLING] * k[_K_KILLING_RATE] * suppression * effectors
                          / (lesion_cells + k[_K_KILLING_HALF]))
            if _happens(death, dt, seed, me, step, _DEATH):
                kind[i] = -1
                continue
            u = uniform(seed, me, step, _TRANSITION)
            if kd == DCC_DORMANT:
                if u < -np.expm1(-k[_K_AWAKENING] * s * dt):
                    kind[i] = DCC_HYBRID
            elif kd == DCC_HYBRID:
                up = k[_K_PROGRESSION] * s
                down = k[_K_REVERSION] * (1.0 - s)
                if up + down > 0.0 and u < -np.expm1(-(up + down) * dt):
                    kind[i] = DCC_PROLIF if u < -np.expm1(-(up + down) * dt) * up / (up + down) else DCC_DORMANT
            else:
                if u < -np.expm1(-k[_K_REVERSION] * (1.0 - s) * dt):
                    kind[i] = DCC_HYBRID
            if kd != DCC_DORMANT:
                division = (k[_K_HYBRID_DIVISION] if kd == DCC_HYBRID else k[_K_PROLIF_DIVISION]) * remodelling[r, c]
                if _happens(division, dt, seed, me, step, _DIVISION):
                    crowd = counts[DCC_DORMANT, r, c] + counts[DCC_HYBRID, r, c] + counts[DCC_PROLIF, r, c]
                    distance = k[_K_DAUGHTER_UM] * np.sqrt(1.0 + crowd / 4.0) * (
                        0.5 + uniform(seed, me, step, _DAUGHTER_DISTANCE))
                    angle = 2.0 * np.pi * uniform(seed, me, step, _DAUGHTER)
                    born_x[births] = (x[i] + distance * np.cos(angle)) % size
                    born_y[births] = (y[i] + distance * np.sin(angle)) % size
                    born_kind[births] = kind[i]
                    born_stat3[births] = s
                    births += 1
            continue
        # immune cells
        lesion_cells = _window(counts[DCC_PROLIF], r, c, nv) * lpw
        antigen = lesion_cells / (lesion_cells + k[_K_ANTIGEN_HALF])
        divide = 0.0
        if kd == NEUTROPHIL:
            death = k[_K_NEUTROPHIL_DEATH]
        elif kd == CD4:
            death = k[_K_CD4_DEATH]
            divide = k[_K_CD4_DIVISION]
        elif kd == CD4_AGG:
            death = k[_K_CD4_AGGREGATE_DEATH]
        elif kd == CD8_VIRUS:
            death = k[_K_CD8_VIRUS_DEATH]
            divide = k[_K_CD8_VIRUS_DIVISION]
        elif kd == CD8_RESTING:
            death = k[_K_CD8_RESTING_DEATH]
        else:
            death = k[_K_CD8_TUMOUR_DEATH]
            divide = k[_K_CD8_TUMOUR_EXPANSION] * antigen * suppression
        if _happens(death, dt, seed, me, step, _DEATH):
            kind[i] = -1
            continue
        if kd == CD4 and _happens(k[_K_CD4_AGGREGATION] * lesion_cells / (lesion_cells + k[_K_CD4_AGGREGATION_HALF]),
                                  dt, seed, me, step, _AGGREGATION):
            kind[i] = CD4_AGG
        if divide > 0.0 and _happens(divide, dt, seed, me, step, _DIVISION):
            angle = 2.0 * np.pi * uniform(seed, me, step, _DAUGHTER)
            born_x[births] = (x[i] + k[_K_DAUGHTER_UM] * np.cos(angle)) % size
            born_y[births] = (y[i] + k[_K_DAUGHTER_UM] * np.sin(angle)) % size
            born_kind[births] = kind[i]
            born_stat3[births] = 0.0
            births += 1
        kd = kind[i]
        half = k[_K_CHEMOTAXIS_HALF]
        if kd == NEUTROPHIL:
            speed, bias, field = k[_K_NEUTROPHIL_SPEED], k[_K_NEUTROPHIL_BIAS], chemokine
        elif kd == CD8_VIRUS:
            speed, bias, field = k[_K_T_SPEED], k[_K_T_BIAS], chemokine
        elif kd == CD4_AGG:
            speed, bias, field = k[_K_AGGREGATE_SPEED], k[_K_T_BIAS], lesion
        else:
            speed, bias, field = k[_K_T_SPEED], k[_K_T_BIAS], lesion
        x[i], y[i] = _move(x[i], y[i], field, r, c, nv, size, speed * minutes, bias, half, seed, me, step)

    # --- remove the dead (order kept), append daughters, then recruits ---
    alive = 0
    for i in range(n):
        if kind[i] >= 0:
            x[alive], y[alive], kind[alive], uid[alive], stat3[alive] = x[i], y[i], kind[i], uid[i], stat3[i]
            alive += 1
    for b in range(births):
        x[alive], y[alive], kind[alive], uid[alive], stat3[alive] = born_x[b], born_y[b], born_kind[b], \
            _new_uid(next_uid, born_kind[b]), born_stat3[b]
        alive += 1
    weights = np.empty(vessels.size)
    for v in range(vessels.size):
        weights[v] = 1e-3 + chemokine[vessels[v] // nv, vessels[v] % nv]
    uniform_weights = np.ones(vessels.size)
    lesion_weights = np.empty(vessels.size)
    for v in range(vessels.size):
        lesion_weights[v] = 1e-3 + lesion[vessels[v] // nv, vessels[v] % nv]
    recruits = ((NEUTROPHIL, _K_INFLUX_NEUTROPHIL), (CD4, _K_INFLUX_CD4), (CD8_VIRUS, _K_INFLUX_CD8_VIRUS),
                (CD8_RESTING, _K_INFLUX_CD8_RESTING), (DCC_DORMANT, _K_INFLUX_DCC), (CD8_TUMOUR, _K_INFLUX_CD8_TUMOUR))
    for recruit_kind, index in recruits:
        mean = k[index] * dt
        if mean <= 0.0:
            continue
        count = poisson(mean, seed, recruit_kind, step, _INFLUX_COUNT)
        for _ in range(count):
            if alive >= x.size:
                break
            new = _new_uid(next_uid, recruit_kind)
            if recruit_kind == DCC_DORMANT:
                px = uniform(seed, new, step, _INFLUX_PLACE) * size
                py = uniform(seed, new, step, _INFLUX_PLACE_2) * size
            elif recruit_kind == NEUTROPHIL or recruit_kind == CD8_VIRUS:
                px, py = _place_at_vessel(vessels, weights, nv, vox, seed, new, step)
            elif recruit_kind == CD8_TUMOUR:
                px, py = _place_at_vessel(vessels, lesion_weights, nv, vox, seed, new, step)
            else:
                px, py = _place_at_vessel(vessels, uniform_weights, nv, vox, seed, new, step)
            x[alive], y[alive], kind[alive], uid[alive], stat3[alive] = px, py, recruit_kind, new, 0.0
            alive += 1
    return alive, counts, producing
