"""Drugs: what a course puts in the blood (PK) and what that does to the lung model (PD).

:mod:`~awaken.pharmacology.drugs` holds the drug table (``data/drugs.yaml``: every PK and PD value
with its unit, range and source); :mod:`~awaken.pharmacology.exposure` turns a course - dose,
route, number of doses, interval, start - into the lung model's drug controls
(:data:`awaken.lung.equations.DRUG_CONTROLS`) as piecewise-constant values, one row per person.
"""
