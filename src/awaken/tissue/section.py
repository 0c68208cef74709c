"""The lung section: its geometry, its place in the lung, and the protocol as the section reads it.

A section is a square field of view (800 x 800 um by default, 20 um voxels, periodic edges: a tile
of a lung that looks the same around it) covered by alveolar epithelium, one epithelial cell per
10 x 10 um, with capillary venules in a fixed twentieth of the voxels where leukocytes enter.

**Its place in the lung.** The lung model (:mod:`awaken.lung`) counts whole-lung cells: 10^7
target epithelial cells, ~2x10^5 neutrophils at rest, ~2,800 DCCs. The section holds
``n_epithelial`` of those 10^7 cells, so it is the fraction ``f = n_epithelial / target_cells_initial``
of the lung (6.4x10^-4 at 800 um): immune cells enter it at ``f`` times the lung's rates, and a
count in it is ``count / f`` lung cells. DCCs are the exception: at the lung's density the section
would hold 1.8 of them, so it is a DCC-rich field of view holding ``dcc_per_section`` DCCs at day 0
and each DCC agent stands for ``dcc_initial / dcc_per_section`` lung DCCs (as a pathologist picks
fields with HER2+ cells).

Example
-------
>>> from awaken.experiments.catalogue import load_experiment
>>> geometry = Geometry.default()
>>> geometry.size_um, geometry.n_voxels, geometry.n_epithelial
(800.0, 1600, 6400)
>>> schedule = Schedule.of(load_experiment("anti_cd4_influenza"))
>>> schedule.on("anti_cd4", 10.0), schedule.on("anti_cd4", 5.0)
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from awaken.experiments.protocol import Experiment
from awaken.tissue.random_numbers import uniform
from awaken.tissue.rules import section_parameters

__all__ = ["Geometry", "Schedule", "vessel_voxels"]


@dataclass(frozen=True)
class Geometry:
    """The section's grid: ``voxels`` per side of ``voxel_um``; ``cells_per_voxel`` epithelial cells
    per side of a voxel."""

    voxels: int
    voxel_um: float
    cells_per_voxel: int

    @classmethod
    def default(cls, voxels: int | None = None) -> Geometry:
        table = section_parameters()
        voxel_um = table["voxel_um"].value
        return cls(int(voxels or table["section_voxels"].value), voxel_um,
                   int(round(voxel_um / table["epithelial_cell_um"].value)))

    @property
    def size_um(self) -> float:
        return self.voxels * self.voxel_um

    @property
    def n_voxels(self) -> int:
        return self.voxels**2

    @property
    def n_epithelial(self) -> int:
        return (self.voxels * self.cells_per_voxel) ** 2

    @property
    def area_mm2(self) -> float:
        return (self.size_um / 1000.0) ** 2


def vessel_voxels(geometry: Geometry, seed: int) -> np.ndarray:
    """Indices (row * voxels + column) of the voxels holding a venule: a fixed, seed-keyed fraction."""
    fraction = section_parameters()["vessel_fraction"].value
    draws = np.array([uniform(seed, v, 0, 12) for v in range(geometry.n_voxels)])
    count = max(1, int(round(fraction * geometry.n_voxels)))
    return np.sort(np.argsort(draws, kind="stable")[:count]).astype(np.int64)


@dataclass(frozen=True)
class Schedule:
    """The protocol as the section reads it: when infection happens and when each antibody acts."""

    infection_day: float | None
    dose: float | None
    courses: tuple[tuple[str, float, float], ...]
    il6_knockout: bool
    has_dccs: bool

    @classmethod
    def of(cls, experiment: Experiment) -> Schedule:
        courses = tuple((t.kind, float(t.start_day), float(experiment.days if t.end_day is None else t.end_day))
                        for t in experiment.treatments)
        virus = experiment.virus
        return cls(infection_day=None if virus is None else float(virus.day),
                   dose=None if virus is None else virus.dose, courses=courses,
                   il6_knockout=experiment.host.il6 == "knockout", has_dccs=experiment.host.strain == "mmtv_her2")

    def on(self, antibody: str, day: float) -> bool:
        """Whether ``antibody`` acts on ``day`` (from its start day up to its end day)."""
        return any(kind == antibody and start <= day < end for kind, start, end in self.courses)
