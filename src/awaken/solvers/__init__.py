"""The lung model's engines: they consume an experiment protocol and give back results that keep
the result contract (:mod:`awaken.experiments.results`).

* :mod:`~awaken.solvers.schedule` - an experiment as the lung model reads it (controls and events);
* :mod:`~awaken.solvers.reference` - the reference engine: SciPy Radau, animal by animal;
* :mod:`~awaken.solvers.fast` - the compiled batch solver (16 animals per set of SIMD lanes), with
  its code generation (:mod:`~awaken.solvers.codegen`) and integrator (:mod:`~awaken.solvers.rodas_kernel`);
* :mod:`~awaken.solvers.batch` - groups of animals and typical animals through the fast solver;
* :mod:`~awaken.solvers.virtual_population` - many individuals, screened by a physiological envelope.
"""
