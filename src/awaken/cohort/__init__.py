"""The population: virtual cancer-survivor cohorts with seasonal infections, vaccination, testing,
metastasis and death, written as EHR-shaped Parquet tables (``docs/data.md``).

Modules follow the life of a survivor: :mod:`~awaken.cohort.people` (who they are),
:mod:`~awaken.cohort.natural_history` (recurrence, site, cancer death),
:mod:`~awaken.cohort.mortality` (other causes, UN WPP), :mod:`~awaken.cohort.exposures` (seasons,
waves, vaccination), :mod:`~awaken.cohort.infections` (which infections happen),
:mod:`~awaken.cohort.lungs` (every infection in its survivor's own lung model),
:mod:`~awaken.cohort.cancer_course` (what infections do to the cancer and the record: the competing
explanations), :mod:`~awaken.cohort.attribution` (each excess event's path), then
:mod:`~awaken.cohort.simulate` (one block, in the schema of :mod:`awaken.records`) and
:mod:`~awaken.cohort.run` (many blocks on the runs layer's Dask execution, resumable; or a cohort in memory).
"""
