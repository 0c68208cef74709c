"""Kaplan-Meier and Aalen-Johansen give R's answers on every edge, and refuse by name.

The oracle values come from ``tests/oracle/km_aj_oracle.R`` (committed output in
``tests/data/survival/km_aj_oracle.json``, data in ``km_aj_cohort.csv``, ``km_aj_edges.csv`` and
``mgus2.csv``). When Rscript is on the PATH the script is re-run live and its output must equal
the committed fixture; ``AWAKEN_REQUIRE_R=1`` makes a missing R fail instead of skipping.

Beyond R: the vectorised jackknife equals a line-by-line transcription of R's C loops
(``survfitkm``, ``survfitci``) on a thousand small random data sets, and a seeded probe of odd
data (n = 1, 2, 3, no events, all events, ties, zero weights, start = stop, garbage) gets either
sane numbers or a SurvivalDataError -- never another exception and never a numpy warning.
"""

from __future__ import annotations

import json
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from awaken.survival import AalenJohansen, KaplanMeier, SurvivalDataError

DATA = Path(__file__).parent / "data" / "survival"
SCRIPT = Path(__file__).parent / "oracle" / "km_aj_oracle.R"
DIGITS = 6  # the bar: R's value to at least 6 significant digits
ORACLE = json.loads((DATA / "km_aj_oracle.json").read_text())
EDGES = ["ties", "zero_weights", "emptied", "all_die", "single", "two"]
ZERO = 1e-12  # R's rounding of an exact 0 (its weighted n.risk is a running sum)


def agrees(ours, theirs, digits: int = DIGITS) -> None:
    """Each value within 10^-digits relative of R's; vectors use their largest finite magnitude as
    the scale for entries that are (near) zero; infinities must be infinities."""
    ours = np.asarray(ours, dtype=float).ravel()
    theirs = np.asarray([np.nan if v is None else v for v in np.ravel(theirs)], dtype=float)
    assert ours.shape == theirs.shape
    finite = np.isfinite(theirs)
    scale = np.max(np.abs(theirs[finite])) if theirs.size > 1 and finite.any() else 0.0
    np.testing.assert_allclose(ours, theirs, rtol=10.0**-digits, atol=10.0**-digits * scale)


def data(name: str) -> pd.DataFrame:
    frame = pd.read_csv(DATA / f"{name}.csv")
    if "event" in frame:
        frame["died"] = (frame["event"] > 0).astype(int)
    return frame


def edge(case: str) -> pd.DataFrame:
    frame = data("km_aj_edges")
    return frame[frame["case"] == case].reset_index(drop=True)


def strata(r: dict, key: str) -> list[np.ndarray]:
    return np.split(np.asarray(r[key], dtype=float), np.cumsum(r["strata"])[:-1])


def check_survival(table: pd.DataFrame, r: dict, robust: bool = False) -> None:
    agrees(table.index, r["time"])
    agrees(table["n_risk"], r["n_risk"])
    agrees(table["n_event"], r["n_event"])
    surv, std_err = table["survival"].to_numpy(), table["std_err"].to_numpy()
    r_surv, r_se = np.asarray(r["surv"], float), np.asarray(r["std_err"], float)
    emptied = r_surv < ZERO
    # where everyone at risk has died the survival is exactly 0 (R: up to its rounding, 1e-16)
    assert np.all(surv[emptied] == 0.0) and np.all(surv[~emptied] > 0)
    agrees(surv, r_surv)
    assert np.all(np.isinf(std_err[emptied]))
    if robust:
        # R's jackknife std.err is on the survival scale (logse = FALSE): 0 once S = 0
        agrees(np.where(emptied, 0.0, std_err * np.where(emptied, 1.0, surv)), np.where(emptied, 0.0, r_se))
        assert np.all(np.abs(r_se[emptied]) < ZERO)
    else:
        # Greenwood: R's Inf, or 1/rounding when its n - d came out 1e-16 instead of 0
        assert np.all(r_se[emptied] > 1e6)
        agrees(std_err[~emptied], r_se[~emptied])


def check_incidence(fit: AalenJohansen, r: dict, cause: int) -> None:
    """Our curve at R's times (R leaves out the stops of a subject's joined rows, where nothing
    happens), and nothing happens at the times only we report."""
    groups = [None] if fit.groups_ is None else list(fit.groups_)
    for group, times, cif, se in zip(groups, strata(r, "time"), strata(r, f"cif{cause}"), strata(r, f"se{cause}")):
        table = fit.table_ if group is None else fit.table_.loc[group]
        assert set(times) <= set(table.index)
        extra = ~table.index.isin(times)
        assert not (table["n_event"][extra] + table["n_competing"][extra]).any()
        values = table["cumulative_incidence"].to_numpy()
        previous = np.concatenate([[0.0], values[:-1]])
        np.testing.assert_array_equal(values[extra], previous[extra])
        chosen = table.loc[times]
        agrees(chosen["cumulative_incidence"], cif)
        agrees(chosen["std_err"], se)


# ------------------------------------------------------------------ Kaplan-Meier against R
@pytest.mark.parametrize("case", EDGES)
def test_kaplan_meier_matches_r_on_the_edges(case):
    frame = edge(case)
    fit = KaplanMeier().fit(frame, time="stop", event="died", start="start", weights="w", robust=False)
    check_survival(fit.table_, ORACLE[f"{case}_km"])
    robust = KaplanMeier().fit(frame, time="stop", event="died", start="start", weights="w", cluster="id")
    assert robust.robust_
    check_survival(robust.table_, ORACLE[f"{case}_km_robust"], robust=True)


def test_kaplan_meier_on_the_weighted_left_truncated_cohort_matches_r():
    cohort = data("km_aj_cohort")
    fit = KaplanMeier().fit(cohort, time="stop", event="died", start="start", weights="w", robust=False)
    check_survival(fit.table_, ORACLE["cohort_km"])
    # weights that vary within a subject, clustered by subject (R: robust = TRUE, id = id)
    fit = KaplanMeier().fit(cohort, time="stop", event="died", start="start", weights="w_row", robust=True,
                            cluster="id")
    check_survival(fit.table_, ORACLE["cohort_km_robust"], robust=True)


def test_kaplan_meier_jackknife_matches_r_on_mgus2():
    fit = KaplanMeier().fit(data("mgus2"), time="futime", event="death", robust=True)
    check_survival(fit.table_, ORACLE["mgus2_km_robust"], robust=True)


def test_the_end_of_the_curve_is_exactly_zero_with_infinite_greenwood_error():
    """The last three at risk die together with weights 0.1 + 0.2 + 0.3, which is not 0.6 in binary:
    the survival is 0, not -1e-16, and the log-scale error is infinite (R: Inf), with no warning."""
    frame = pd.DataFrame({"t": [1.0, 2.0, 5.0, 5.0, 5.0], "d": [1, 0, 1, 1, 1], "w": [0.7, 0.25, 0.1, 0.2, 0.3]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = KaplanMeier().fit(frame, time="t", event="d", weights="w")
        interval = fit.confidence_interval()
        assert fit.predict([0.0, 5.0, 9.0]).tolist() == [1.0, 0.0, 0.0]
    assert fit.survival_function_.iloc[-1] == 0.0
    assert np.isinf(fit.table_["std_err"].iloc[-1])
    assert interval.iloc[-1].tolist() == [0.0, 0.0]


def test_zero_weights_count_for_nothing_and_negative_or_missing_ones_are_refused():
    frame = edge("zero_weights")
    fit = KaplanMeier().fit(frame, time="stop", event="died", weights="w")
    kept = frame[frame["w"] > 0]
    without = KaplanMeier().fit(kept, time="stop", event="died", weights="w")
    # the rows of weight 0 keep their times in the table (as R) and change no number
    agrees(fit.predict(without.table_.index), without.survival_function_, digits=12)
    assert set(frame["stop"]) == set(fit.table_.index)
    refusals = ((-0.5, r"'w' must be >= 0; it is not at rows 4$"),
                (np.nan, r"'w' has missing or infinite values at rows 4$"))
    for bad, rule in refusals:
        broken = frame.assign(w=frame["w"].where(frame.index != 4, bad))
        with pytest.raises(SurvivalDataError, match=rule):
            KaplanMeier().fit(broken, time="stop", event="died", weights="w")
        with pytest.raises(SurvivalDataError, match=rule):
            AalenJohansen().fit(broken, time="stop", event="event", weights="w")


# ------------------------------------------------------------------ Aalen-Johansen against R
def test_aalen_johansen_jackknife_matches_r_on_mgus2():
    mgus = data("mgus2")
    for cause in (1, 2):
        fit = AalenJohansen().fit(mgus, time="etime", event="event", cause=cause, variance="ij")
        assert fit.variance_method_ == "ij"
        check_incidence(fit, ORACLE["mgus2_aj"], cause)
        by_sex = AalenJohansen().fit(mgus, time="etime", event="event", cause=cause, group="male", variance="ij")
        check_incidence(by_sex, ORACLE["mgus2_aj_sex"], cause)


def test_grouped_gray_variance_matches_cmprsk_cuminc():
    fit = AalenJohansen().fit(data("mgus2"), time="etime", event="event", cause=1, group="male")
    assert fit.variance_method_ == "gray"
    r = ORACLE["mgus2_cuminc_sex"]
    for group in (0, 1):
        corners = np.asarray(r[f"time_{group}"])[2::2]   # cuminc's step corners: its value after each jump
        table = fit.table_.loc[group]
        agrees(table["cumulative_incidence"].loc[corners], r[f"est_{group}"][2::2])
        agrees(table["variance"].loc[corners], r[f"var_{group}"][2::2])


@pytest.mark.parametrize("cause", [1, 2])
def test_aalen_johansen_on_the_weighted_left_truncated_grouped_cohort_matches_r(cause):
    cohort = data("km_aj_cohort")
    arguments = {"time": "stop", "event": "event", "cause": cause, "start": "start", "weights": "w", "id": "id"}
    grouped = AalenJohansen().fit(cohort, group="group", **arguments)
    assert grouped.variance_method_ == "ij" and list(grouped.groups_) == ["A", "B", "C"]
    check_incidence(grouped, ORACLE["cohort_aj"], cause)
    check_incidence(AalenJohansen().fit(cohort, **arguments), ORACLE["cohort_aj_pooled"], cause)


@pytest.mark.parametrize("case", EDGES)
def test_aalen_johansen_matches_r_on_the_edges(case):
    frame = edge(case)
    for cause in (1, 2):
        if not (frame["event"] == cause).any():
            with pytest.raises(SurvivalDataError, match=f"no row of 'event' has the cause {cause}"):
                AalenJohansen().fit(frame, time="stop", event="event", cause=cause)
            continue
        fit = AalenJohansen().fit(frame, time="stop", event="event", cause=cause, start="start", weights="w",
                                  id="id")
        check_incidence(fit, ORACLE[f"{case}_aj"], cause)


# ------------------------------------------------------------------ the vectorised jackknife is R's loop
def r_survfitci(start, stop, code, weight, subject, cause):
    """R's survfitci.c influence update, subject by subject, time by time (O(N x times)); the
    subject's influence is the weighted sum of its rows' (as survfitkm; see the module docstring
    of awaken.survival.aalen_johansen for R's one-weight-per-subject variant)."""
    grid = np.unique(stop)
    subjects, owner = np.unique(subject, return_inverse=True)
    u0, uk = np.zeros(len(subjects)), np.zeros(len(subjects))
    p0, pk = 1.0, 0.0
    incidence, variance = [], []
    for t in grid:
        risk = (start < t) & (stop >= t)
        events = risk & (stop == t) & (code > 0)
        n, d = weight[risk].sum(), weight[events].sum()
        if d > 0:
            hazard_k = weight[events & (code == cause)].sum() / n
            stay = 1 - d / n
            new0, newk = u0 * stay, uk + u0 * hazard_k
            for row in np.flatnonzero(risk):
                share = weight[row] * p0 / n
                new0[owner[row]] -= stay * share
                newk[owner[row]] -= hazard_k * share
                to = code[row] if events[row] else 0
                if to == 0:
                    new0[owner[row]] += share
                elif to == cause:
                    newk[owner[row]] += share
            u0, uk = new0, newk
            pk, p0 = pk + p0 * hazard_k, p0 * stay
        incidence.append(pk)
        variance.append(np.sum(uk**2))
    return grid, np.array(incidence), np.array(variance)


def r_survfitkm(start, stop, died, weight, cluster):
    """R's survfitkm.c robust (type 1) loop; returns the survival and its jackknife std.err."""
    grid = np.unique(stop)
    clusters, owner = np.unique(cluster, return_inverse=True)
    influence, km, v = np.zeros(len(clusters)), 1.0, 0.0
    surv, std = [], []
    for t in grid:
        risk = (start < t) & (stop >= t)
        dying = risk & (stop == t) & died
        n, d = weight[risk].sum(), weight[dying].sum()
        if dying.any() and d > 0:
            hazard = d / n
            at_risk = np.bincount(owner[risk], weight[risk], minlength=len(clusters))
            influence = influence * (1 - hazard) + at_risk * km * hazard / n
            np.subtract.at(influence, owner[dying], km * weight[dying] / n)
            km *= 1 - hazard
            v = np.sum(influence**2)
        surv.append(km)
        std.append(np.sqrt(v))
    return grid, np.array(surv), np.array(std)


def random_subjects(rng) -> pd.DataFrame:
    """1-9 subjects of 1-3 rows with whole-number times (ties), gaps, left truncation, zero weights."""
    rows = []
    for subject in range(int(rng.integers(1, 10))):
        t = float(rng.integers(0, 3)) - 0.5
        k = int(rng.integers(1, 4))
        constant = float(rng.choice([0.0, 0.5, 1.0, 2.5]))
        for j in range(k):
            a = t + (float(rng.integers(0, 2)) if rng.random() < 0.3 else 0.0)
            b = a + float(rng.integers(1, 4))
            w = constant if rng.random() < 0.5 else float(rng.choice([0.0, 0.5, 1.0, 2.5]))
            rows.append((subject, a, b, int(rng.integers(0, 3)) if j == k - 1 else 0, w))
            t = b
    frame = pd.DataFrame(rows, columns=["id", "start", "stop", "event", "w"])
    frame.loc[len(frame) - 1, "event"] = 1 if not (frame["event"] == 1).any() else frame["event"].iloc[-1]
    frame["died"] = (frame["event"] > 0).astype(int)
    return frame


def test_vectorised_jackknife_is_r_loop_on_random_small_data():
    rng = np.random.default_rng(20260117)
    for _ in range(500):
        frame = random_subjects(rng)
        start, stop, w = frame["start"].to_numpy(), frame["stop"].to_numpy(), frame["w"].to_numpy()
        for cause in (1, 2):
            if not (frame["event"] == cause).any():
                continue
            fit = AalenJohansen().fit(frame, time="stop", event="event", cause=cause, start="start", weights="w",
                                      id="id")
            grid, incidence, variance = r_survfitci(start, stop, frame["event"].to_numpy(), w,
                                                    frame["id"].to_numpy(), cause)
            np.testing.assert_array_equal(fit.cumulative_incidence_.index, grid)
            np.testing.assert_allclose(fit.cumulative_incidence_, incidence, rtol=0, atol=1e-12)
            np.testing.assert_allclose(fit.variance_, variance, rtol=1e-10, atol=1e-12)
        km = KaplanMeier().fit(frame, time="stop", event="died", start="start", weights="w", cluster="id")
        grid, surv, std = r_survfitkm(start, stop, frame["died"].to_numpy(bool), w, frame["id"].to_numpy())
        ours = km.table_
        np.testing.assert_allclose(ours["survival"], surv, rtol=0, atol=1e-12)
        alive = surv > 0
        np.testing.assert_allclose((ours["std_err"][alive] * ours["survival"][alive]) ** 2, std[alive] ** 2,
                                   rtol=1e-10, atol=1e-12)


def test_splitting_follow_up_into_rows_of_one_subject_changes_nothing():
    """(0, 5] as (0, 2] + (2, 5] with the same id: same curve, same jackknife variance."""
    rng = np.random.default_rng(3)
    n = 400
    whole = pd.DataFrame({"id": np.arange(n), "start": 0.0, "stop": rng.integers(2, 40, n).astype(float),
                          "event": rng.integers(0, 3, n), "w": rng.uniform(0.2, 2.0, n).round(2),
                          "arm": rng.integers(0, 2, n)})
    cut = np.floor(whole["stop"] * rng.uniform(0.1, 0.9, n)).clip(1, None)
    split = pd.concat([whole.assign(stop=cut, event=0), whole.assign(start=cut)]).sort_values(["id", "start"])
    split = split[split["start"] < split["stop"]]
    arguments = {"time": "stop", "event": "event", "start": "start", "weights": "w", "id": "id", "group": "arm"}
    a, b = AalenJohansen().fit(whole, **arguments), AalenJohansen().fit(split, **arguments)
    grid = a.cumulative_incidence_.index
    np.testing.assert_allclose(b.cumulative_incidence_.loc[grid], a.cumulative_incidence_, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(b.variance_.loc[grid], a.variance_, rtol=1e-10, atol=1e-15)
    # without id the pieces would be independent subjects: a different (wrong) variance
    c = AalenJohansen().fit(split, **{**arguments, "id": None})
    assert not np.allclose(c.variance_.loc[grid], a.variance_, rtol=1e-3)


def test_the_causes_and_survival_add_to_one_with_weights_and_left_truncation():
    cohort = data("km_aj_cohort")
    arguments = {"time": "stop", "start": "start", "weights": "w"}
    first = AalenJohansen().fit(cohort, event="event", cause=1, **arguments).cumulative_incidence_
    second = AalenJohansen().fit(cohort, event="event", cause=2, **arguments).cumulative_incidence_
    survival = KaplanMeier().fit(cohort, event="died", **arguments).survival_function_
    np.testing.assert_allclose(first + second + survival, 1.0, atol=1e-12)


# ------------------------------------------------------------------ the grouped API
def test_groups_give_one_curve_each_equal_to_the_fit_on_the_group_alone():
    cohort = data("km_aj_cohort")
    arguments = {"time": "stop", "event": "event", "start": "start", "weights": "w", "id": "id"}
    fit = AalenJohansen().fit(cohort, group="group", **arguments)
    curves = fit.cumulative_incidence_
    assert list(curves.columns) == ["A", "B", "C"] and curves.columns.name == "group"
    assert curves.index.name == "time" and curves.index.is_monotonic_increasing
    assert fit.table_.index.names == ["group", "time"]
    assert list(fit.confidence_interval().columns.get_level_values(0).unique()) == ["lower", "upper"]
    for group in ("A", "B", "C"):
        alone = AalenJohansen().fit(cohort[cohort["group"] == group], **arguments)
        pd.testing.assert_series_equal(fit.table_.loc[group]["cumulative_incidence"],
                                       alone.table_["cumulative_incidence"])
        pd.testing.assert_series_equal(fit.table_.loc[group]["variance"], alone.table_["variance"])
        # the wide frame is each curve as a step function on the union of times
        np.testing.assert_array_equal(curves[group], alone.predict(curves.index))
    asked = fit.predict([0.0, 100.0, 1e9])
    assert list(asked.columns) == ["A", "B", "C"] and asked.iloc[0].tolist() == [0.0, 0.0, 0.0]
    np.testing.assert_array_equal(asked.iloc[-1], curves.iloc[-1])


def test_unweighted_right_censored_data_keep_grays_variance_and_the_rest_use_the_jackknife():
    mgus = data("mgus2")
    assert AalenJohansen().fit(mgus, time="etime", event="event").variance_method_ == "gray"
    assert AalenJohansen().fit(mgus, time="etime", event="event", weights="age").variance_method_ == "ij"
    with pytest.raises(SurvivalDataError, match="Gray's variance .* is for unweighted right-censored"):
        AalenJohansen().fit(mgus, time="etime", event="event", weights="age", variance="gray")
    with pytest.raises(SurvivalDataError, match="variance must be 'auto', 'gray' or 'ij'"):
        AalenJohansen().fit(mgus, time="etime", event="event", variance="delta")


def test_several_rows_per_subject_are_checked_by_name():
    rows = pd.DataFrame({"id": [1, 1, 2, 2], "start": [0.0, 5.0, 0.0, 4.0], "stop": [5.0, 9.0, 4.0, 8.0],
                         "event": [0, 1, 1, 2]})
    with pytest.raises(SurvivalDataError, match=r"rows of the same 'id' follow the event at rows 2$"):
        AalenJohansen().fit(rows, time="stop", event="event", start="start", id="id")
    with pytest.raises(SurvivalDataError, match=r"intervals of the same id overlap.*rows 1$"):
        AalenJohansen().fit(rows.assign(start=[0.0, 4.0, 0.0, 4.0]), time="stop", event="event", start="start",
                            id="id")
    with pytest.raises(SurvivalDataError, match=r"'id' repeats at rows 0, 1, 2, 3: without start="):
        AalenJohansen().fit(rows, time="stop", event="event", id="id")


def test_ten_to_the_five_rows_with_weights_truncation_and_ids_take_seconds():
    """No O(N x times) influence matrix: 2 x 10^5 rows and 10^4 distinct times."""
    rng = np.random.default_rng(5)
    n = 100_000
    stop = rng.integers(2, 10_000, n).astype(float)
    cut = np.floor(stop * rng.uniform(0.1, 0.9, n)).clip(1, None)
    rows = pd.DataFrame({"id": np.repeat(np.arange(n), 2), "start": np.column_stack([np.zeros(n), cut]).ravel(),
                         "stop": np.column_stack([cut, stop]).ravel(),
                         "event": np.column_stack([np.zeros(n, int), rng.integers(0, 3, n)]).ravel(),
                         "w": np.repeat(rng.uniform(0.5, 2.0, n), 2)})
    started = time.perf_counter()
    fit = AalenJohansen().fit(rows, time="stop", event="event", start="start", weights="w", id="id")
    assert time.perf_counter() - started < 60
    assert np.all(np.isfinite(fit.variance_)) and fit.cumulative_incidence_.is_monotonic_increasing


# ------------------------------------------------------------------ the probe
def odd_frame(rng) -> tuple[pd.DataFrame, str]:
    n = int(rng.choice([1, 2, 3, 4, 7]))
    shape = str(rng.choice(["random", "no_events", "all_events", "all_censored", "ties", "zero_weights",
                            "start_equals_stop", "garbage"]))
    stop = rng.integers(0, 4, n).astype(float) + (0.0 if shape == "ties" else rng.choice([0.0, 0.5], n))
    event = rng.integers(0, 3, n)
    if shape in ("no_events", "all_censored"):
        event[:] = 0
    if shape == "all_events":
        event = rng.integers(1, 3, n)
    weight = rng.choice([0.0, 0.3, 1.0, 2.0], n)
    if shape == "zero_weights":
        weight[rng.random(n) < 0.7] = 0.0
    start = stop - rng.integers(1, 3, n)
    if shape == "start_equals_stop":
        start[0] = stop[0]
    frame = pd.DataFrame({"stop": stop, "event": event, "died": (event > 0).astype(int), "w": weight,
                          "start": start, "id": rng.integers(0, max(1, n // 2), n), "arm": rng.choice(["a", "b"], n)})
    if shape == "garbage":
        column = str(rng.choice(["stop", "event", "w", "start", "arm", "id"]))
        value = rng.choice([np.nan, -1.0, np.inf, 1e300, "x", 0.5])
        frame[column] = frame[column].astype(object)
        frame.loc[0, column] = value
    return frame, shape


def sane_survival(fit: KaplanMeier) -> None:
    table = fit.table_
    s = table["survival"].to_numpy()
    assert np.all((s >= 0) & (s <= 1)) and np.all(np.diff(s) <= 0)
    se = table["std_err"].to_numpy()
    assert np.all(se >= 0) and np.all(np.isfinite(se[s > 0])) and np.all(np.isinf(se[s == 0]))
    interval = fit.confidence_interval()
    assert np.all(interval["lower"] <= s + 1e-15) and np.all(interval["upper"] >= s - 1e-15)
    fit.predict([-1.0, 0.0, 2.5, np.nan, 1e9])


def sane_incidence(fit: AalenJohansen) -> None:
    f = fit.cumulative_incidence_.to_numpy()
    assert np.all((f >= 0) & (f <= 1 + 1e-12)) and np.all(np.diff(f, axis=0) >= -1e-12)
    v = fit.variance_.to_numpy()
    assert np.all(np.isfinite(v)) and np.all(v >= 0)
    fit.confidence_interval()
    fit.predict([-1.0, 2.0, np.nan])


def test_probe_odd_data_gets_numbers_or_a_survival_data_error_and_never_a_warning():
    rng = np.random.default_rng(17)
    outcomes = {}
    for _ in range(600):
        frame, shape = odd_frame(rng)
        fitted = refused = 0
        calls = [
            lambda frame=frame: sane_survival(KaplanMeier().fit(frame, time="stop", event="died")),
            lambda frame=frame: sane_survival(KaplanMeier().fit(frame, time="stop", event="died", start="start", weights="w")),
            lambda frame=frame: sane_survival(KaplanMeier().fit(frame, time="stop", event="died", weights="w", robust=True)),
            lambda frame=frame: sane_survival(KaplanMeier().fit(frame, time="stop", event="event", cluster="id")),
            lambda frame=frame: sane_incidence(AalenJohansen().fit(frame, time="stop", event="event")),
            lambda frame=frame: sane_incidence(AalenJohansen().fit(frame, time="stop", event="event", cause=2, weights="w",
                                                       group="arm")),
            lambda frame=frame: sane_incidence(AalenJohansen().fit(frame, time="stop", event="event", start="start",
                                                       weights="w", id="id")),
            lambda frame=frame: sane_incidence(AalenJohansen().fit(frame, time="stop", event="event", start="start",
                                                       group="arm", variance="ij")),
        ]
        for call in calls:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                try:
                    call()
                    fitted += 1
                except SurvivalDataError as error:
                    assert str(error)
                    refused += 1
        before = outcomes.get(shape, (0, 0))
        outcomes[shape] = (before[0] + fitted, before[1] + refused)
    # every shape was both fitted and refused somewhere (start = stop and garbage are refused by
    # the calls that read the broken column, fitted by those that do not)
    assert all(fitted > 0 and refused > 0 for fitted, refused in outcomes.values()), outcomes
    assert len(outcomes) == 8


@pytest.mark.parametrize("call,message", [
    (lambda: KaplanMeier().fit([1, 2], time="t", event="e"), "expected a pandas DataFrame"),
    (lambda: KaplanMeier().fit(pd.DataFrame({"t": [1.0]}), time="t", event="e"), r"missing column\(s\) \['e'\]"),
    (lambda: KaplanMeier().fit(pd.DataFrame({"t": [1.0], "e": [1]}), time=["t"], event="e"), "time= must be"),
    (lambda: KaplanMeier().fit(pd.DataFrame([[1.0, 1.0, 1]], columns=["t", "t", "e"]), time="t", event="e"),
     "more than one column named 't'"),
    (lambda: KaplanMeier().fit(pd.DataFrame({"t": [1j], "e": [1]}), time="t", event="e"), "must be real numbers"),
    (lambda: KaplanMeier().fit(pd.DataFrame({"t": [1.0], "e": [1e300]}), time="t", event="e"),
     r"'e' must be 0 \(censored\) or 1 \(event\)"),
    (lambda: KaplanMeier().fit(pd.DataFrame({"t": [1.0], "e": [1]}), time="t", event="e", robust="yes"),
     "robust= must be True, False or None"),
    (lambda: KaplanMeier().fit(pd.DataFrame({"t": [1.0], "e": [1], "c": [1]}), time="t", event="e", robust=False,
                               cluster="c"), "cluster= only changes the robust variance"),
    (lambda: KaplanMeier().fit(pd.DataFrame({"t": [1.0, 2.0], "e": [1, 1], "w": [1e308, 1e308]}), time="t",
                               event="e", weights="w"), "their sum overflows"),
    (lambda: KaplanMeier().predict([1.0]), "has not been fitted"),
    (lambda: AalenJohansen().fit(pd.DataFrame({"t": [1.0], "e": [1]}), time="t", event="e", cause="1"),
     "cause must be a positive event code"),
    (lambda: AalenJohansen().fit(pd.DataFrame({"t": [1.0], "e": [1]}), time="t", event="e", cause=0),
     "cause must be a positive event code"),
    (lambda: AalenJohansen().fit(pd.DataFrame({"t": [1.0, 2.0], "e": [1, 0], "g": [[1], [2]]}), time="t", event="e",
                                 group="g"), "'g' holds values that cannot be grouped"),
    (lambda: AalenJohansen().fit(pd.DataFrame({"t": [1.0, 2.0], "e": [1, 0], "i": [[1], [2]]}), time="t", event="e",
                                 id="i"), "'i' holds values that cannot be grouped"),
    (lambda: AalenJohansen().fit(pd.DataFrame({"t": [-1.0], "e": [1]}), time="t", event="e"), "'t' must be >= 0"),
    (lambda: AalenJohansen().confidence_interval(), "has not been fitted"),
    (lambda: AalenJohansen().fit(pd.DataFrame({"t": [1.0], "e": [1]}), time="t", event="e").predict("soon"),
     "times must be numbers"),
])
def test_refusals_are_survival_data_errors_that_say_why(call, message):
    with pytest.raises(SurvivalDataError, match=message):
        call()


# ------------------------------------------------------------------ R, live
def test_committed_oracle_is_what_r_computes_now(tmp_path, rscript):
    """Re-run the R script on a fresh data directory: same data files, same oracle values."""
    shutil.copy(DATA / "mgus2.csv", tmp_path / "mgus2.csv")
    output = tmp_path / "km_aj_oracle.json"
    rscript(SCRIPT, str(output), str(tmp_path))
    for name in ("km_aj_cohort", "km_aj_edges"):
        assert (tmp_path / f"{name}.csv").read_text() == (DATA / f"{name}.csv").read_text(), name
    live = json.loads(output.read_text())
    assert set(live) == set(ORACLE)
    for case, values in ORACLE.items():
        if case == "versions":
            continue
        assert set(live[case]) == set(values), case
        for key, expected in values.items():
            agrees(live[case][key], expected, digits=12)
