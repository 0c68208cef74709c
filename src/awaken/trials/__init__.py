"""In-silico trials on the survivor cohort: the trial file (:mod:`~awaken.trials.design`), every
participant under every arm (:mod:`~awaken.trials.run`), the analysis (:mod:`~awaken.trials.outcomes`),
the sample size of a real trial (:mod:`~awaken.trials.sample_size`) and the mouse window of
opportunity (:mod:`~awaken.trials.mouse`)."""
