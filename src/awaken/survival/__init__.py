"""The analyses: a survival engine that agrees with R's ``survival`` and ``cmprsk``.

Estimators follow lifelines' manners (``fit`` returns ``self``; results end in ``_``):

- :class:`CoxPH` -- Cox regression on ``(start, stop]`` data: Efron/Breslow ties, strata, case
  weights, cluster-robust variance, ``tt``-style time-varying coefficients, residuals;
  :func:`cox_zph` -- the proportional-hazards test.
- :class:`KaplanMeier`, :class:`AalenJohansen` (tie-exact cumulative incidence), :func:`gray_test`,
  :class:`FineGray` (subdistribution hazards, as ``cmprsk::crr``).
- :class:`LogisticRegression` -- odds ratios.

Event codes: 0 censored, 1, 2, ... causes. Malformed data raises :class:`SurvivalDataError`
naming the column or rows and the rule, before any fitting.
"""

from awaken.survival._validate import SurvivalDataError
from awaken.survival.aalen_johansen import AalenJohansen
from awaken.survival.competing_risks import FineGray, gray_test
from awaken.survival.cox import CoxPH, cox_zph, split_at_event_times
from awaken.survival.kaplan_meier import KaplanMeier
from awaken.survival.logistic import LogisticRegression

__all__ = [
    "AalenJohansen", "CoxPH", "FineGray", "KaplanMeier", "LogisticRegression", "SurvivalDataError",
    "cox_zph", "gray_test", "split_at_event_times",
]
