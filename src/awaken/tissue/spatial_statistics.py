"""The niche, measured: where DCCs sit relative to CD4 T cells, and the aggregates they form.

The statistics a pathologist would compute on the study's immunofluorescence sections, on a
:class:`~awaken.tissue.engine.Section`:

* the distance from every DCC to its nearest CD4 T cell (lung or aggregate);
* Ripley's cross-K of DCCs and CD4 cells, as the variance-stabilised ``L(r) - r`` (0 under
  complete spatial randomness, CSR; positive where CD4 cells sit closer to DCCs than chance);
* the cross pair-correlation ``g(r)`` (1 under CSR) from annuli;
* CD4 aggregates and DCC lesions: clusters of cells linked within ``link_um``, their count and size.

Neighbour searches use SciPy's KD-tree (``scipy.spatial.cKDTree``, with ``boxsize`` for the
section's periodic edges), so on the torus K and g need no edge correction and CSR is exactly
``K(r) = pi r^2``; clusters are connected components (``scipy.sparse.csgraph``).

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> a, b = rng.uniform(0, 800, (400, 2)), rng.uniform(0, 800, (400, 2))
>>> bool(abs(cross_l_minus_r(a, b, 800.0, np.array([50.0]))[0]) < 5)   # CSR: L(r) - r near 0
True
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from awaken.tissue.agents import KINDS

__all__ = ["RADII_UM", "nearest_distances", "cross_k", "cross_l_minus_r", "cross_pair_correlation", "clusters",
           "section_statistics", "DCC_KINDS", "CD4_KINDS"]

#: Radii at which K and g are reported (um).
RADII_UM = np.array([10.0, 20.0, 30.0, 50.0, 75.0, 100.0, 150.0])
DCC_KINDS = ("dcc_dormant", "dcc_hybrid", "dcc_proliferating")
CD4_KINDS = ("cd4", "cd4_aggregate")


def _tree(points: np.ndarray, size_um: float) -> cKDTree:
    return cKDTree(np.mod(points, size_um), boxsize=size_um)


def nearest_distances(a: np.ndarray, b: np.ndarray, size_um: float) -> np.ndarray:
    """Distance (um) from each point of ``a`` to the nearest point of ``b`` (periodic section)."""
    if len(a) == 0:
        return np.empty(0)
    if len(b) == 0:
        return np.full(len(a), np.inf)
    distances, _ = _tree(b, size_um).query(np.mod(a, size_um), k=1)
    return distances


def cross_k(a: np.ndarray, b: np.ndarray, size_um: float, radii: np.ndarray) -> np.ndarray:
    """Ripley's cross-K (um^2): area / (n_a n_b) x pairs (a, b) closer than r. CSR: pi r^2."""
    if len(a) == 0 or len(b) == 0:
        return np.full(radii.shape, np.nan)
    pairs = _tree(a, size_um).count_neighbors(_tree(b, size_um), radii)
    return size_um**2 * pairs / (len(a) * len(b))


def cross_l_minus_r(a: np.ndarray, b: np.ndarray, size_um: float, radii: np.ndarray) -> np.ndarray:
    """Besag's ``L(r) - r = sqrt(K / pi) - r`` (um): 0 under CSR, > 0 for attraction."""
    return np.sqrt(cross_k(a, b, size_um, radii) / np.pi) - radii


def cross_pair_correlation(a: np.ndarray, b: np.ndarray, size_um: float, radii: np.ndarray) -> np.ndarray:
    """Cross pair-correlation g at the annuli between consecutive ``radii`` (and from 0 to the first)."""
    k = cross_k(a, b, size_um, radii)
    edges = np.concatenate([[0.0], radii])
    return np.diff(np.concatenate([[0.0], k])) / (np.pi * np.diff(edges**2))


def clusters(points: np.ndarray, size_um: float, link_um: float) -> np.ndarray:
    """Sizes of the clusters of points linked (directly or through others) within ``link_um``."""
    if len(points) == 0:
        return np.empty(0, dtype=int)
    pairs = _tree(points, size_um).query_pairs(link_um, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(points), len(points)))
    _, labels = connected_components(graph, directed=False)
    return np.bincount(labels)


def section_statistics(section, aggregate_min_cells: int = 5, link_um: float = 20.0) -> dict[str, float]:
    """The niche's statistics of one section (see the module), as one flat row."""
    names = np.asarray(KINDS)[section.kind]
    xy = np.column_stack([section.x_um, section.y_um])
    dcc = xy[np.isin(names, DCC_KINDS)]
    proliferating = xy[names == "dcc_proliferating"]
    cd4 = xy[np.isin(names, CD4_KINDS)]
    distances = nearest_distances(dcc, cd4, section.size_um)
    aggregates = clusters(cd4, section.size_um, link_um)
    aggregates = aggregates[aggregates >= aggregate_min_cells]
    lesions = clusters(dcc, section.size_um, link_um)
    lesions = lesions[lesions >= 2]
    row = {"day": section.day, "dccs": len(dcc), "cd4_cells": len(cd4),
           "dcc_to_cd4_median_um": float(np.median(distances)) if distances.size else np.nan,
           "dcc_to_cd4_within_30um": float(np.mean(distances <= 30.0)) if distances.size else np.nan,
           "proliferating_dcc_to_cd4_median_um": float(np.median(nearest_distances(proliferating, cd4,
                                                                                   section.size_um)))
           if len(proliferating) and len(cd4) else np.nan,
           "cd4_aggregates": int(aggregates.size), "cd4_aggregate_median_cells": float(np.median(aggregates))
           if aggregates.size else 0.0, "cd4_aggregate_largest_cells": int(aggregates.max(initial=0)),
           "dcc_lesions": int(lesions.size), "dcc_lesion_largest_cells": int(lesions.max(initial=0))}
    for radius, value in zip(RADII_UM, cross_l_minus_r(dcc, cd4, section.size_um, RADII_UM)):
        row[f"dcc_cd4_L_minus_r_{radius:g}um"] = float(value)
    for radius, value in zip(RADII_UM, cross_pair_correlation(dcc, cd4, section.size_um, RADII_UM)):
        row[f"dcc_cd4_g_{radius:g}um"] = float(value)
    return row
