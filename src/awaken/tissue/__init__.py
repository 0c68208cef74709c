"""The tissue: a spatial agent-based model of a lung section in which the study's niche is visible.

Alveolar epithelium that the virus infects; diffusing, decaying fields of virus, IL-6 and
chemokines; neutrophils, CD4 and CD8 T cells recruited from vessels; disseminated cancer cells that
wake (dormant -> hybrid -> proliferating) where IL-6 reaches them and divide where neutrophil NETs
have remodelled the matrix; CD4 aggregates next to proliferating DCCs that hold back CD8 killing
(Chia et al. 2025). The behaviour rules are data (``data/rules.csv``); kinetic rates are the lung
model's (:mod:`awaken.lung`), so the section and the lung are one system at two scales.

* :mod:`~awaken.tissue.section` - the geometry, the section's place in the lung, the protocol as
  the section reads it;
* :mod:`~awaken.tissue.fields` - the diffusion-decay solver (exact in time, checked analytically);
* :mod:`~awaken.tissue.agents` - the cells and their rules (numba kernels);
* :mod:`~awaken.tissue.rules` - the rules and the section's parameters, as data;
* :mod:`~awaken.tissue.engine` - an experiment on sections, returning the result contract;
* :mod:`~awaken.tissue.images`, :mod:`~awaken.tissue.spatial_statistics`,
  :mod:`~awaken.tissue.outputs` - immunofluorescence-like images, the niche's statistics, the movie
  and the per-agent tables.

Example
-------
>>> from awaken.experiments.catalogue import load_experiment, with_overrides
>>> from awaken.tissue.engine import run_group_tissue
>>> result = run_group_tissue(with_overrides(load_experiment("pbs"), days=2, mice=1))
>>> int(result.per_mouse["section_dcc_dormant"].iloc[0])
32
"""
