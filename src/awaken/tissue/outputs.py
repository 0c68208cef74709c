"""What a tissue run leaves in its run directory, beside the lung engines' tables and report.

``tissue/`` holds, for the first mouse at every kept day (:data:`~awaken.tissue.engine.IMAGE_DAYS`
within the run), ``images/day_DD.png`` (composite) and ``images/day_DD.ome.tif`` (five channels);
``movie.gif`` (the first mouse, a frame every 12 hours of the first 28 days);
``spatial_statistics.parquet`` (one row per mouse and kept day: DCC-to-nearest-CD4 distances, the
DCC-CD4 cross-K as ``L(r) - r`` and cross pair-correlation, CD4 aggregates and DCC lesions;
:mod:`awaken.tissue.spatial_statistics`); and ``tables/tissue_agents.parquet`` holds every agent of
every mouse at the kept days (mouse, day, uid, kind, position, STAT3, Ki67).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from awaken.tissue.images import gif_bytes, immunofluorescence, ome_tiff_bytes, png_bytes
from awaken.tissue.spatial_statistics import section_statistics

__all__ = ["write_outputs", "agent_table", "statistics_table"]


def agent_table(result: Any) -> pd.DataFrame:
    """Every agent of every mouse at the kept days."""
    frames = [section.agents().assign(mouse=mouse, day=section.day)
              for mouse, sections in result.sections.items() for section in sections]
    frame = pd.concat(frames, ignore_index=True)
    return frame[["mouse", "day", *[c for c in frame.columns if c not in ("mouse", "day")]]]


def statistics_table(result: Any) -> pd.DataFrame:
    """The niche's statistics, one row per mouse and kept day."""
    return pd.DataFrame([{"mouse": mouse, **section_statistics(section)}
                         for mouse, sections in result.sections.items() for section in sections])


def write_outputs(result: Any, run: Any) -> list[str]:
    """Write the tissue's outputs into ``run`` (a :class:`~awaken.runs.directory.RunDirectory`)."""
    written = [str(run.write_parquet("tables/tissue_agents.parquet", agent_table(result)).name)]
    written.append(str(run.write_parquet("tissue/spatial_statistics.parquet", statistics_table(result)).name))
    for section in result.sections.get(0, []):
        channels = immunofluorescence(section)
        stem = f"tissue/images/day_{int(section.day):02d}"
        run.write_bytes(f"{stem}.png", png_bytes(channels))
        run.write_bytes(f"{stem}.ome.tif", ome_tiff_bytes(channels))
        written += [f"{stem}.png", f"{stem}.ome.tif"]
    if result.movie:
        run.write_bytes("tissue/movie.gif", gif_bytes(result.movie))
        written.append("tissue/movie.gif")
    return written
