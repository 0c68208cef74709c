"""The coefficient table every regression here prints (R's ``summary`` layout)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def coefficient_table(beta: pd.Series, se: pd.Series, alpha: float, ratio: str = "exp(coef)",
                      naive_se: pd.Series | None = None) -> pd.DataFrame:
    """coef, the ratio exp(coef), se (and robust se when ``naive_se`` is given), z, p, Wald interval."""
    with np.errstate(all="ignore"):  # exp of a coefficient flagged as infinite overflows to inf, as it should
        z_crit = stats.norm.ppf(1 - alpha / 2)
        z = beta / se
        table = pd.DataFrame({"coef": beta, ratio: np.exp(beta)})
        if naive_se is not None:
            table["se(coef)"] = naive_se
            table["robust se"] = se
        else:
            table["se(coef)"] = se
        table["z"] = z
        table["p"] = 2 * stats.norm.sf(np.abs(z))
        level = f"{1 - alpha:.0%}".replace("%", "")
        short = "OR" if ratio == "odds ratio" else ratio
        table[f"{short} lower {level}%"] = np.exp(beta - z_crit * se)
        table[f"{short} upper {level}%"] = np.exp(beta + z_crit * se)
    return table.rename_axis("covariate")
