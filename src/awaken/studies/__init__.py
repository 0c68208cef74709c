"""The study's human analyses as recipes on EHR-shaped records (:mod:`awaken.records`, ``docs/data.md``).

* :mod:`~awaken.studies.ukb` - the UK Biobank design (test-positive vs test-negative survivors,
  cancer-specific death), and the human targets H1/H2 it scores;
* :mod:`~awaken.studies.flatiron` - the Flatiron design (recorded COVID-19 diagnosis as a
  time-varying exposure, lung metastasis with death competing);
* :mod:`~awaken.studies.power` - simulation-based power of a confirmatory cohort.

The recipes read records only: a simulated cohort or a user's own extract, never the simulation's
truth. The joint calibration of the cohort's explanations of the human excess is in
:mod:`awaken.calibration.explanations`.
"""
