"""The lung model in the field's standards: SBML Level 3 (:mod:`~awaken.export.sbml`, with
:mod:`~awaken.export.units`) and COMBINE archives with SED-ML (:mod:`~awaken.export.omex`). The
PEtab problem of the calibration lives with the calibration (:mod:`awaken.calibration.petab_problem`).
"""
