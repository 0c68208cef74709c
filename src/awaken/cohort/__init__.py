"""The population: virtual cancer-survivor cohorts with seasonal infections, vaccination, testing,
metastasis and death, written as EHR-shaped Parquet tables (``docs/data.md``).

Modules follow the life of a survivor: :mod:`~awaken.cohort.people` (who they are),
:mod:`~awaken.cohort.natural_history` (recurrence, site, cancer death),
:mod:`~awaken.cohort.mortality` (other causes, UN WPP), :mod:`~awaken.cohort.exposures` (seasons,
waves, vaccination), :mod:`~awaken.cohort.infections` (what an infection does and leaves in the
record), :mod:`~awaken.cohort.infection_response` (the lung model's answer), then
:mod:`~awaken.cohort.simulate` (one block, in the schema of :mod:`awaken.records`) and
:mod:`~awaken.cohort.run` (many blocks on the runs layer's Dask execution, resumable; or a cohort in memory).
"""
