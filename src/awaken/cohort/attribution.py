"""Where the excess comes from: each lung metastasis and cancer death of a simulated cohort by its path.

A simulated survivor's record carries the truth (``latent_`` columns, :mod:`awaken.records`), so every
lung metastasis and every certified cancer death can be put on exactly one path
(:mod:`awaken.cohort.cancer_course`):

* ``awakened`` - a lesion an infection awakened (mechanism a): without that infection it would not exist;
* ``brought_forward`` - natural-history disease an infection made surface (b) or kill (b, c) earlier;
* ``certified`` - a COVID-19 death certified as a cancer death (d; cancer deaths only);
* ``natural_history`` - none of these.

Compared between two arms with the same people (common random numbers, e.g. with and without the
pandemic), the difference on each path is the excess that path explains.

Example
-------
>>> from awaken.cohort.attribution import PATHS
>>> PATHS
('awakened', 'brought_forward', 'certified', 'natural_history')
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["PATHS", "paths", "attribute"]

PATHS = ("awakened", "brought_forward", "certified", "natural_history")


def paths(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.Series]:
    """Path of each lung metastasis (``lung_metastases``) and each certified cancer death (``cancer_deaths``),
    indexed by person id."""
    m, d = tables["metastases"], tables["deaths"]
    lung = m[m.site == "lung"].set_index("person_id")
    lung_path = pd.Series(np.select([lung.latent_origin == "infection", lung.latent_advanced_days > 0],
                                    ["awakened", "brought_forward"], "natural_history"), index=lung.index)
    origin = m.set_index("person_id").latent_origin
    cancer = d[d.cause == "cancer"].set_index("person_id")
    awakened = cancer.index.map(origin).to_numpy() == "infection"
    death_path = pd.Series(np.select([cancer.latent_cause == "covid_19", awakened, cancer.latent_advanced_days > 0],
                                     ["certified", "awakened", "brought_forward"], "natural_history"),
                           index=cancer.index)
    return {"lung_metastases": lung_path, "cancer_deaths": death_path}


def attribute(arms: Mapping[str, Mapping[str, pd.DataFrame]]) -> pd.DataFrame:
    """Counts per (outcome, path) and arm, with the first arm minus the second as ``difference``."""
    columns = {}
    for arm, tables in arms.items():
        counts = {}
        for outcome, series in paths(tables).items():
            tally = series.value_counts()
            for path in PATHS:
                if outcome == "lung_metastases" and path == "certified":
                    continue
                counts[(outcome, path)] = int(tally.get(path, 0))
        columns[arm] = counts
    frame = pd.DataFrame(columns)
    frame.index.names = ["outcome", "path"]
    first, second = list(arms)[:2] if len(arms) > 1 else (list(arms)[0], None)
    if second is not None:
        frame["difference"] = frame[first] - frame[second]
    return frame
