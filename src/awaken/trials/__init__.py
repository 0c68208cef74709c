"""In-silico trials on the survivor cohort: arms, the paired counterfactual table, its analysis and sample size."""
