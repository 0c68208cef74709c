"""The study's human analyses as recipes on EHR-shaped records (``docs/data.md``).

* :mod:`~awaken.studies.records` - read a cohort directory or a user's own tables, checked against
  the schema;
* :mod:`~awaken.studies.ukb` - the UK Biobank design (test-positive vs test-negative survivors,
  cancer-specific death);
* :mod:`~awaken.studies.flatiron` - the Flatiron design (recorded COVID-19 diagnosis as a
  time-varying exposure, lung metastasis with death competing);
* :mod:`~awaken.studies.calibration` - the infection-effect parameter calibrated to target H1.
"""
