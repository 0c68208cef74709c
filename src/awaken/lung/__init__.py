"""The lung: awaken's within-host model and the study's mouse experiments.

Modules, in the direction data flows: ``equations`` (the model, written once) -> ``compiled``
(NumPy functions derived from it) -> ``parameters`` (the parameter tables) -> ``solver`` (the
reference integrator) -> ``scenario`` (what an experiment is) -> ``experiments`` (running them).
"""
