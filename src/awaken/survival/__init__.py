"""The analyses: a survival engine that agrees with R's ``survival`` and ``cmprsk``.

Estimators follow lifelines' manners (``fit`` returns ``self``; results end in ``_``):

- :class:`CoxPH` -- Cox regression on ``(start, stop]`` data: Efron, Breslow or exact ties,
  strata, case weights, offsets, cluster-robust variance, ``tt``-style time-varying coefficients,
  residuals; :func:`cox_zph` -- the proportional-hazards test; :func:`predict_survival` and
  :func:`baseline_hazard` -- curves for new covariate values (``survfit.coxph``, ``basehaz``).
- :class:`KaplanMeier`, :class:`AalenJohansen` (tie-exact cumulative incidence, weights, left
  truncation, the jackknife), :func:`gray_test`, :class:`FineGray` (subdistribution hazards, as
  ``cmprsk::crr`` or ``finegray`` + ``coxph``) and :func:`finegray` (R's expansion).

Times that differ only by round-off are merged first, as R (:mod:`awaken.survival.timefix`). A
covariate the data carry no information on raises :class:`UninformativeCovariates`; a likelihood
that keeps rising (separation) gives a :class:`ConvergenceWarning` naming the covariate.
- :class:`LogisticRegression` -- odds ratios.

Event codes: 0 censored, 1, 2, ... causes. Malformed data raises :class:`SurvivalDataError`
naming the column or rows and the rule, before any fitting.
"""

from awaken.survival._validate import ConvergenceWarning, SurvivalDataError, UninformativeCovariates
from awaken.survival.aalen_johansen import AalenJohansen
from awaken.survival.cox import CoxPH, split_at_event_times
from awaken.survival.cox_survival import baseline_hazard, predict_survival
from awaken.survival.fine_gray import FineGray
from awaken.survival.finegray_expansion import finegray
from awaken.survival.gray import gray_test
from awaken.survival.kaplan_meier import KaplanMeier
from awaken.survival.logistic import LogisticRegression
from awaken.survival.proportional_hazards import cox_zph

__all__ = [
    "AalenJohansen", "ConvergenceWarning", "CoxPH", "FineGray", "KaplanMeier", "LogisticRegression",
    "SurvivalDataError", "UninformativeCovariates",
    "baseline_hazard", "cox_zph", "finegray", "gray_test", "predict_survival", "split_at_event_times",
]
