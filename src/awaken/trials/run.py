"""Running a trial: every participant lives every arm, with common random numbers.

For each explanation of the human excess (:mod:`awaken.trials.design`, ``explanations``), the
participants are screened from the cohort by the eligibility rules (:func:`screen`), then simulated in
blocks: the control arm once, and each other arm with its :class:`~awaken.cohort.interventions.CarePolicy`
(:func:`policy_for`). Every draw of the cohort is keyed by person and purpose, and the trial's own
decisions (which infections it detects, when a course starts, each person's PK, scans) have streams of
their own, so a participant's life is the same in every arm until an intervention acts on them, and
an arm whose interventions change nothing reproduces the control bit for bit.

What a block returns is the **per-survivor counterfactual table** (:data:`~awaken.trials.counterfactuals.COLUMNS`): one row per
(explanation, arm, participant) with the endpoints as days from randomisation (``inf``: not within
follow-up), the harms, and the arm the participant was randomised to in the simulated real trial
(``allocated_arm``: 1:1:... by a counter draw). :mod:`awaken.trials.outcomes` analyses it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from awaken.cohort import streams
from awaken.cohort.draws import uniforms
from awaken.cohort.interventions import CarePolicy, DrugAtInfection as CohortDrug
from awaken.cohort.interventions import Surveillance as CohortSurveillance
from awaken.cohort.interventions import Vaccination as CohortVaccination
from awaken.cohort.interventions import candidate_uniforms, scan_counts
from awaken.cohort.parameters import MECHANISM_SWITCHES, SUBTYPES, CohortScenario, day_number
from awaken.cohort.people import OTHER, draw_people
from awaken.cohort.simulate import finish_block, prepare_block
from awaken.errors import InputError
from awaken.pharmacology.drugs import Course, load_drug_table
from awaken.pharmacology.exposure import bin_edges, target_effect
from awaken.runs.execution import Execution
from awaken.trials.counterfactuals import COLUMNS
from awaken.trials.design import PATHOGEN_NAMES, DrugAtInfection, Surveillance, Trial, Vaccination, \
    load_trial_parameters

__all__ = ["REFERENCE_ARM", "CAUSAL_MECHANISMS", "eligible", "check_enrolment", "screen", "policy_for", "simulate_block", "simulate_trial",
           "trial_values"]

#: The rows of the counterfactual table for the world where infections do nothing to the cancer (every
#: causal mechanism off, everything else as in the control arm): the human excess an arm could prevent is
#: the control's risk above it. Nobody is allocated to it.
REFERENCE_ARM = "no_causal_effect"
#: The explanations' causal mechanisms (awaken.cohort.cancer_course (a)-(c)); (d) is what the record shows.
CAUSAL_MECHANISMS = ("awakening", "occult_acceleration", "metastatic_acceleration")

_SCREEN_CHUNK = 200_000
_IL6_TARGETS = ("il6r_blockade", "il6_neutralisation")


def trial_values(trial: Trial) -> dict[str, float]:
    """The trial parameters with the file's overrides."""
    return {**{k: p.value for k, p in load_trial_parameters().items()}, **trial.parameters}


def eligible(trial: Trial, scenario: CohortScenario, persons: np.ndarray) -> np.ndarray:
    """Which of ``persons`` the eligibility rules admit by who they are (see :func:`screen`)."""
    rule = trial.eligibility
    day = float(day_number(trial.randomisation))
    people = draw_people(scenario, trial.seed, persons)
    breast = people.cancer_type != OTHER
    ok = np.isin(np.where(breast, "breast", "other"), rule.cancer_types)
    if rule.subtypes is not None:
        ok &= breast & np.isin(people.subtype, [SUBTYPES.index(s) for s in rule.subtypes])
    age = people.age_at(day)
    years = (day - people.diagnosis_day) / 365.25
    ok &= (age >= rule.age[0]) & (age < rule.age[1]) & (years >= rule.years_since_diagnosis[0]) \
        & (years < rule.years_since_diagnosis[1]) & (people.entry_day <= day)
    return ok


def check_enrolment(trial: Trial) -> None:
    """Refuse, before any work, a trial whose eligibility admits almost nobody (none of the cohort's first
    :data:`_SCREEN_CHUNK` members)."""
    if not eligible(trial, trial.scenario(), np.arange(_SCREEN_CHUNK, dtype=np.int64)).any():
        raise InputError.field("eligibility", f"admits none of the cohort's first {_SCREEN_CHUNK:,} survivors "
                               "(their cancer, subtype, age, years since diagnosis or follow-up at randomisation); "
                               "widen the rules or move the randomisation")


def screen(trial: Trial, scenario: CohortScenario) -> np.ndarray:
    """Person ids of the first ``trial.size`` cohort members eligible at randomisation by who they are
    (cancer, subtype, age, years since diagnosis, in follow-up by then); whether they are alive and free
    of metastasis at randomisation is checked after simulation (:func:`simulate_block`)."""
    found: list[np.ndarray] = []
    count = 0
    first = 0
    while count < trial.size:
        persons = np.arange(first, first + _SCREEN_CHUNK, dtype=np.int64)
        ok = eligible(trial, scenario, persons)
        found.append(persons[ok])
        count += int(ok.sum())
        first += _SCREEN_CHUNK
        if first > 200 * max(trial.size, 10_000):
            raise InputError.field("eligibility", f"admits fewer than {trial.size:,} of the cohort's first "
                                   f"{first:,} survivors; widen the rules or ask for fewer (size)")
    return np.concatenate(found)[:trial.size]


def policy_for(trial: Trial, arm_index: int, values: dict[str, float]) -> CarePolicy | None:
    """The cohort's reading of an arm (None for an arm without interventions)."""
    arm = trial.arms[arm_index]
    if not arm.interventions:
        return None
    detection = (values["symptomatic_influenza"] * values["tested_when_symptomatic"],
                 values["symptomatic_sars_cov_2"] * values["tested_when_symptomatic"])
    onset = (values["incubation_influenza"], values["incubation_sars_cov_2"])
    drugs, vaccination, surveillance = [], None, None
    for item in arm.interventions:
        if isinstance(item, DrugAtInfection):
            drug = load_drug_table().drug(item.drug)
            course = Course(dose=item.dose, route=item.route or drug.default.route, doses=item.doses,
                            interval_days=item.interval_days)
            reduction = values["antiviral_covid_death_reduction"] if drug.target == "antiviral_efficacy" else 0.0
            drugs.append(CohortDrug(drug=item.drug, course=course,
                                    pathogens=tuple(PATHOGEN_NAMES.index(p) for p in item.pathogens),
                                    detection=detection, onset_days=onset,
                                    start_after_onset=tuple(item.start_after_symptoms_days),
                                    covid_death_reduction=reduction))
        elif isinstance(item, Vaccination):
            vaccination = CohortVaccination(influenza_uptake=item.uptake if item.influenza else 0.0,
                                            covid_booster_uptake=item.uptake if item.covid_booster else 0.0)
        elif isinstance(item, Surveillance):
            surveillance = CohortSurveillance(scan_days=tuple(item.scan_days_after_symptoms),
                                              sensitivity=values["ct_sensitivity"],
                                              lead_doublings=values["ct_lead_doublings"],
                                              lead_time_benefit=values["ct_lead_time_benefit"],
                                              false_positive=values["ct_false_positive"],
                                              detection=detection, onset_days=onset)
    return CarePolicy(from_day=float(day_number(trial.randomisation)), drugs=tuple(drugs), vaccination=vaccination,
                      surveillance=surveillance)


def _endpoints(tables, ids: np.ndarray, start: float, horizon: float) -> dict[str, np.ndarray]:
    """Days from randomisation of each endpoint per person (inf: none by the end of follow-up)."""
    index = pd.Index(ids)

    def first(frame: pd.DataFrame) -> np.ndarray:
        out = np.full(ids.size, np.inf)
        if len(frame):
            days = (frame["date"].astype("datetime64[s]").astype("int64") / 86400.0 - start).to_numpy()
            pos = index.get_indexer(frame["person_id"].to_numpy())
            np.minimum.at(out, pos, days)
        return np.where(out <= horizon, out, np.inf)

    metastases = tables["metastases"].to_pandas()
    deaths = tables["deaths"].to_pandas()
    return {
        "lung_metastasis_day": first(metastases[metastases["site"] == "lung"]),
        "any_metastasis_day": first(metastases),
        "cancer_death_day": first(deaths[deaths["latent_cause"] == "cancer"]),
        "covid_death_day": first(deaths[deaths["latent_cause"] == "covid_19"]),
        "death_day": first(deaths),
    }


def simulate_block(trial_json: str, explanation: str, ids: np.ndarray) -> pd.DataFrame:
    """The counterfactual table of the participants ``ids`` (see the module docstring)."""
    trial = Trial.model_validate_json(trial_json)
    scenario = trial.scenario(explanation)
    values = trial_values(trial)
    seed = trial.seed
    start = float(day_number(trial.randomisation))
    horizon = round(365.25 * trial.follow_up_years)
    tables_of, blocks = [], []
    control = prepare_block(scenario, seed, 0, 0, ids=ids)
    for k in range(len(trial.arms)):
        policy = policy_for(trial, k, values)
        block = control if policy is None else prepare_block(scenario, seed, 0, 0, ids=ids, policy=policy,
                                                             reference=control)
        blocks.append(block)
        tables_of.append(finish_block(block))
    # eligible at randomisation: alive, in follow-up and free of metastasis (the same in every arm: no
    # intervention acts before it)
    before = _endpoints(tables_of[0], ids, start, np.inf)
    patients = tables_of[0]["patients"].to_pandas()
    exit_day = patients["exit_date"].astype("datetime64[s]").astype("int64").to_numpy() / 86400.0 - start
    enrolled = (exit_day > 0) & ~(before["any_metastasis_day"] <= 0) & ~(before["death_day"] <= 0)
    people = control.people
    age = people.age_at(start)
    subtype = np.where(people.cancer_type != OTHER, np.array(SUBTYPES + ("other",))[np.where(
        people.subtype < 0, len(SUBTYPES), people.subtype)], "other")
    allocation = np.floor(uniforms(seed, ids, streams.TRIAL_ALLOCATION) * len(trial.arms)).astype(int)
    frames = []
    control_lung = _endpoints(tables_of[0], ids, start, np.inf)["lung_metastasis_day"]
    for k, (arm, block, tables) in enumerate(zip(trial.arms, blocks, tables_of)):
        e = _endpoints(tables, ids, start, horizon)
        # how much earlier than under the control a lung metastasis of the follow-up is diagnosed (surveillance's
        # lead time; 0 when not earlier)
        both = np.isfinite(e["lung_metastasis_day"]) & np.isfinite(control_lung)
        earlier = np.zeros(ids.size)
        earlier[both] = np.maximum(control_lung[both] - e["lung_metastasis_day"][both], 0.0)
        death = e["death_day"]
        harms = _harms(trial, block, control, tables, ids, start, horizon, values, seed)
        frame = pd.DataFrame({
            "explanation": explanation, "arm": arm.name, "person_id": ids,
            "allocated_arm": np.array([a.name for a in trial.arms])[allocation],
            "age": age, "subtype": subtype, "years_since_diagnosis": (start - people.diagnosis_day) / 365.25,
            "lung_metastasis_day": e["lung_metastasis_day"], "cancer_death_day": e["cancer_death_day"],
            "covid_death_day": e["covid_death_day"], "death_day": death,
            "end_day": np.minimum(death, float(horizon)), "follow_up_days": float(horizon),
            **harms, "lung_metastasis_earlier_days": earlier,
        })
        frames.append(frame[enrolled])
    # the no-causal-effect world: the control's infections and lungs, with the causal mechanisms off (they act
    # only in the cancer course, so the control block is finished again; nothing is simulated twice)
    off = {**control.values, **{name: null for mechanism, (name, null) in MECHANISM_SWITCHES.items()
                                if mechanism in CAUSAL_MECHANISMS}}
    e = _endpoints(finish_block(control, off), ids, start, horizon)
    reference = frames[0].copy()
    reference["arm"] = REFERENCE_ARM
    for name in ("lung_metastasis_day", "cancer_death_day", "covid_death_day", "death_day"):
        reference[name] = e[name][enrolled]
    reference["end_day"] = np.minimum(reference["death_day"], float(horizon))
    for name in ("detected_infections", "doses", "ct_scans", "ct_false_positives"):
        reference[name] = 0
    for name in ("treated", "neutropenia", "viral_rebound"):
        reference[name] = False
    reference["clearance_delay_days"] = 0.0
    reference["lung_metastasis_earlier_days"] = 0.0
    frames.append(reference)
    return pd.concat(frames, ignore_index=True)[list(COLUMNS)]


def _harms(trial, block, control, tables, ids, start, horizon, values, seed) -> dict[str, np.ndarray]:
    cand = block.candidates
    n = ids.size
    person = cand.row
    day = cand.day - start
    happened_in_window = block.exposures.accepted & (day >= 0) & (day < horizon)
    patients = tables["patients"].to_pandas()
    exit_day = patients["exit_date"].astype("datetime64[s]").astype("int64").to_numpy() / 86400.0
    alive = cand.day < exit_day[person]
    counted = happened_in_window & alive

    def per_person(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        out = np.zeros(n)
        np.add.at(out, person[mask], 1.0 if weights is None else weights[mask])
        return out

    infections = per_person(counted)
    detected = per_person(counted & block.treatments.detected) if block.treatments is not None else np.zeros(n)
    treated_any = np.zeros(cand.day.size, dtype=bool)
    doses = np.zeros(n)
    neutropenia = np.zeros(n, dtype=bool)
    policy = block.policy
    if policy is not None:
        risk = load_drug_table().harm("neutropenia_grade3_risk")
        for k, (item, on) in enumerate(zip(policy.drugs, block.treatments.treated)):
            given = on & counted
            treated_any |= given
            doses += per_person(given) * item.course.doses
            drug = load_drug_table().drug(item.drug)
            if drug.target in _IL6_TARGETS:
                # the label's risk at full blockade, scaled by the course's peak blockade (a placebo-sized
                # dose carries none)
                peak = float(target_effect(drug, item.course, np.zeros(1), bin_edges(60.0)).max())
                u = np.ones(cand.day.size)
                rows = np.flatnonzero(given)
                u[rows] = candidate_uniforms(seed, ids, cand, streams.TRIAL_HARM, rows, salt=k)
                neutropenia |= per_person(given & (u < risk * peak)) > 0
    rebound = per_person(treated_any & block.lung.rebound) > 0
    delay = np.where(treated_any, np.maximum(block.lung.clearance_day - control.lung.clearance_day, 0.0), 0.0)
    clearance_delay = per_person(treated_any, np.nan_to_num(delay))
    scans = np.zeros(n, dtype=np.int64)
    false = np.zeros(n, dtype=np.int64)
    if policy is not None and policy.surveillance is not None:
        metastases = tables["metastases"].to_pandas()
        met_day = np.full(n, np.inf)
        if len(metastases):
            d = metastases["date"].astype("datetime64[s]").astype("int64").to_numpy() / 86400.0
            np.minimum.at(met_day, pd.Index(ids).get_indexer(metastases["person_id"].to_numpy()), d)
        window_end = np.minimum(exit_day, start + horizon)
        scans, false = scan_counts(policy.surveillance, seed, ids, cand,
                                   block.treatments.detected & (cand.day >= start), block.exposures.accepted,
                                   window_end, met_day)
    return {"infections": infections.astype(np.int64), "detected_infections": detected.astype(np.int64),
            "treated": per_person(treated_any) > 0, "doses": doses.astype(np.int64), "neutropenia": neutropenia,
            "viral_rebound": rebound, "clearance_delay_days": clearance_delay, "ct_scans": scans,
            "ct_false_positives": false}


def simulate_trial(trial: Trial, execution: Execution | None = None, block_size: int = 50_000,
                   advance: Callable[[int], None] | None = None) -> pd.DataFrame:
    """The counterfactual table of the whole trial: every explanation, every arm, every participant."""
    execution = execution or Execution(inline=True)
    tasks: list[tuple] = []
    payload = trial.model_dump_json()
    for explanation in trial.explanations:
        ids = screen(trial, trial.scenario(explanation))
        for a in range(0, ids.size, block_size):
            tasks.append((payload, explanation, ids[a:a + block_size]))
    parts = execution.map(simulate_block, tasks, weights=[t[2].size for t in tasks], advance=advance,
                          name="awaken-trial")
    table = pd.concat(parts, ignore_index=True)
    # one order whatever the blocks: explanation and arm as the trial lists them (the reference last), then person
    arms = {**{a.name: i for i, a in enumerate(trial.arms)}, REFERENCE_ARM: len(trial.arms)}
    order = pd.DataFrame({"e": table["explanation"].map({e: i for i, e in enumerate(trial.explanations)}),
                          "a": table["arm"].map(arms),
                          "p": table["person_id"]})
    return table.iloc[np.lexsort((order["p"], order["a"], order["e"]))].reset_index(drop=True)
