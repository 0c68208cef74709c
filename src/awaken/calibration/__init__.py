"""Calibration of the mouse lung model: the targets as a likelihood, the PEtab problem, multi-start
fitting, profiles and the parameter ensemble (see ``docs/calibration.md``)."""
