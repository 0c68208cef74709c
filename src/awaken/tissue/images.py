"""Immunofluorescence-like images of a section: HER2, Ki67, CD4, CD8 and DAPI channels.

What the study looked at, drawn from the agents: every cell's nucleus in DAPI (the epithelium and
every agent), DCCs in HER2, dividing DCCs in Ki67 (intensity = the cell's division rate relative to
a cycling cell, the lung model's Ki67 read-out), CD4 T cells (lung and aggregates) in CD4, CD8 T
cells in CD8. Each cell is a Gaussian spot of its nucleus' size on a 2 um pixel grid
(``scipy.ndimage.gaussian_filter``). Images are written as a composite PNG (HER2 green, CD4 red,
CD8 yellow, Ki67 magenta, DAPI blue) and as a five-channel OME-TIFF (uint16, physical pixel size
in the metadata; ``tifffile``) that Fiji/QuPath open as a multichannel image. :func:`write_movie`
makes an animated GIF of a run (Pillow).

Example
-------
>>> import numpy as np
>>> from awaken.tissue.engine import Section
>>> section = Section(day=0, x_um=np.array([100.0]), y_um=np.array([100.0]), kind=np.array([6], dtype=np.int8),
...                   uid=np.array([1]), stat3=np.zeros(1), ki67=np.zeros(1), epithelium=np.zeros((8, 8), dtype=np.int8),
...                   fields={}, size_um=200.0)
>>> channels = immunofluorescence(section)
>>> list(channels), channels["HER2"].shape
(['HER2', 'Ki67', 'CD4', 'CD8', 'DAPI'], (100, 100))
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from awaken.tissue.agents import CD4, CD4_AGG, CD8_RESTING, CD8_TUMOUR, CD8_VIRUS, DCC_DORMANT

__all__ = ["CHANNELS", "immunofluorescence", "composite", "png_bytes", "ome_tiff_bytes", "gif_bytes"]

CHANNELS: tuple[str, ...] = ("HER2", "Ki67", "CD4", "CD8", "DAPI")
#: Colour of each channel in the composite (RGB weights).
COLOURS = {"HER2": (0.0, 0.75, 0.1), "Ki67": (0.6, 0.0, 0.6), "CD4": (1.0, 0.1, 0.05), "CD8": (1.0, 0.9, 0.0),
           "DAPI": (0.05, 0.1, 0.45)}
NUCLEUS_SIGMA_UM = 2.5


def _deposit(x: np.ndarray, y: np.ndarray, weight: np.ndarray, size_um: float, pixel_um: float) -> np.ndarray:
    pixels = int(round(size_um / pixel_um))
    image = np.zeros((pixels, pixels))
    if len(x):
        np.add.at(image, ((np.asarray(y) / pixel_um).astype(int) % pixels, (np.asarray(x) / pixel_um).astype(int)
                          % pixels), weight)
    return gaussian_filter(image, NUCLEUS_SIGMA_UM / pixel_um, mode="wrap") * 2 * np.pi * (NUCLEUS_SIGMA_UM /
                                                                                           pixel_um) ** 2


def immunofluorescence(section, pixel_um: float = 2.0) -> dict[str, np.ndarray]:
    """The five channels of ``section`` (each 0..~1 per cell), in :data:`CHANNELS` order."""
    kind = section.kind
    ones = np.ones(kind.size)
    dcc = kind >= DCC_DORMANT
    cd4 = (kind == CD4) | (kind == CD4_AGG)
    cd8 = (kind == CD8_VIRUS) | (kind == CD8_RESTING) | (kind == CD8_TUMOUR)
    ne = section.epithelium.shape[0]
    cell_um = section.size_um / ne
    rows, cols = np.nonzero(section.epithelium != 3)  # dead epithelium has no intact nucleus
    ex, ey = (cols + 0.5) * cell_um, (rows + 0.5) * cell_um

    def channel(mask: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
        w = ones[mask] if weight is None else weight[mask]
        return _deposit(section.x_um[mask], section.y_um[mask], w, section.size_um, pixel_um)

    dapi = channel(np.ones(kind.size, dtype=bool)) + 0.5 * _deposit(ex, ey, np.ones(ex.size), section.size_um,
                                                                      pixel_um)
    return {"HER2": channel(dcc), "Ki67": channel(dcc, np.clip(section.ki67, 0, 1)), "CD4": channel(cd4),
            "CD8": channel(cd8), "DAPI": dapi}


def composite(channels: dict[str, np.ndarray]) -> np.ndarray:
    """An RGB uint8 image of the channels in their :data:`COLOURS`."""
    rgb = np.zeros((*next(iter(channels.values())).shape, 3))
    for name, image in channels.items():
        rgb += np.clip(image, 0, 1)[..., None] * np.asarray(COLOURS[name])
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def png_bytes(channels: dict[str, np.ndarray]) -> bytes:
    """The composite as PNG."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(composite(channels)).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def ome_tiff_bytes(channels: dict[str, np.ndarray], pixel_um: float = 2.0) -> bytes:
    """The channels as a multichannel OME-TIFF (uint16, C x Y x X, pixel size in um)."""
    import tifffile

    stack = np.stack([np.clip(channels[c], 0, 4) / 4 * 65535 for c in CHANNELS]).astype(np.uint16)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, stack, ome=True, photometric="minisblack",
                     metadata={"axes": "CYX", "Channel": {"Name": list(CHANNELS)}, "PhysicalSizeX": pixel_um,
                               "PhysicalSizeXUnit": "µm", "PhysicalSizeY": pixel_um, "PhysicalSizeYUnit": "µm"})
    return buffer.getvalue()


def gif_bytes(sections: list, pixel_um: float = 4.0, frame_ms: int = 150) -> bytes:
    """An animated GIF of ``sections`` (the frames of a run), each a composite with the IL-6 field
    as a faint grey background."""
    from PIL import Image, ImageDraw

    frames = []
    for section in sections:
        channels = immunofluorescence(section, pixel_um)
        channels["DAPI"] = channels["DAPI"] * 0.5
        rgb = composite(channels).astype(float)
        il6 = section.fields.get("il6")
        if il6 is not None:
            scale = rgb.shape[0] // il6.shape[0]
            background = np.kron(np.log10(np.maximum(il6, 1.0)) / 3.0, np.ones((scale, scale)))
            rgb += 60 * np.clip(background, 0, 1)[..., None]
        image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
        ImageDraw.Draw(image).text((4, 4), f"day {section.day:.1f}", fill=(255, 255, 255))
        frames.append(image)
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=frame_ms, loop=0)
    return buffer.getvalue()


def write_images(channels: dict[str, np.ndarray], stem: str | Path) -> list[Path]:
    """``stem.png`` and ``stem.ome.tif`` (for use outside a run directory)."""
    stem = Path(stem)
    png, tif = stem.with_suffix(".png"), stem.with_suffix(".ome.tif")
    png.write_bytes(png_bytes(channels))
    tif.write_bytes(ome_tiff_bytes(channels))
    return [png, tif]
