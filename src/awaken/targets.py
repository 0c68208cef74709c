"""The published observations awaken must reproduce, read from ``awaken/data/targets.yaml``.

The file holds the study's observations - ``mouse`` (M1-M11) and ``human`` (H1, H2), a copy of
the project's reference ``targets.yaml`` that a test keeps from drifting - and, in a group of its
own (``cohort``), the published epidemiological observations the virtual survivor cohort is
calibrated to or checked against, and (``plausibility``) bounds awaken states itself, each with
its reasoning, that an explanation of the human excess must not break. Each has a stable id, a band
a simulation must land in, where the band comes from, and its source. Numbers are never restated in
code: everything that needs a published value (the scorecard, the joint calibration of the human
mechanisms, the tests) reads it here.

Example
-------
>>> target_ids("mouse")[:2]
('M1_mock_dormant', 'M2_onset_day3')
>>> published("H1_ukb_cancer_death")["estimate"]
1.85
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

__all__ = ["load_targets", "target", "target_ids", "published", "STUDY_GROUPS", "LAST_TARGET_DAY"]

#: The groups that are the study's own observations (scored by the scorecard).
STUDY_GROUPS = ("mouse", "human")
#: The latest day (dpi) at which a mouse target is read out (M5, M8: 28 dpi); experiments that are
#: scored must run at least this long (the scorecard checks its measures against it).
LAST_TARGET_DAY = 28


@lru_cache(maxsize=1)
def load_targets() -> dict[str, list[dict[str, Any]]]:
    """The shipped targets file, parsed (``.inf`` becomes ``math.inf``): group -> targets."""
    text = (resources.files("awaken") / "data" / "targets.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def target(target_id: str) -> dict[str, Any]:
    """One target by id."""
    for group in load_targets().values():
        for entry in group:
            if entry["id"] == target_id:
                return entry
    raise KeyError(target_id)


def target_ids(group: str) -> tuple[str, ...]:
    """Ids of one group's targets, in file order."""
    return tuple(t["id"] for t in load_targets().get(group, []))


def published(target_id: str) -> dict[str, Any]:
    """The published value of a target (``estimate``, and ``ci95`` where given)."""
    entry = target(target_id)
    if "published" not in entry:
        raise KeyError(f"{target_id} has no published value")
    return entry["published"]
