"""Run a virtual experiment on two engines and plot it.

CD4 depletion from 9 days after influenza, eight mice, 60 days: the reference engine (SciPy Radau,
mouse by mouse) and the fast engine (the compiled batch solver, the same mice) give the same
DCC burden; the figure shows both, with the IgG control.

    .venv/bin/python examples/virtual_experiment.py [OUT]     (default OUT: runs/examples)
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import awaken  # noqa: E402


def main(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    for name, colour in (("igg_influenza", "#ff7f0e"), ("anti_cd4_influenza", "#1f77b4")):
        for engine, style in (("reference", "-"), ("fast", ":")):
            result = awaken.run_experiment(name, days=60, mice=8, seed=1, engine=engine)
            tc = result.timecourse
            ax.plot(tc["day"], tc["dcc_count"], style, color=colour, label=f"{name} ({engine})")
    ax.set_yscale("log")
    ax.set_xlabel("days post infection")
    ax.set_ylabel("HER2+ DCCs per 3 lung sections (mean of 8 mice)")
    ax.legend(frameon=False, fontsize=7)
    path = out / "anti_cd4.png"
    fig.savefig(path, dpi=150)
    day28 = {e: awaken.run_experiment(e, days=28, mice=8, seed=1, engine="fast").at(28, "dcc_count")
             for e in ("igg_influenza", "anti_cd4_influenza")}
    print(f"DCC burden at 28 dpi, anti-CD4 / IgG: {day28['anti_cd4_influenza'] / day28['igg_influenza']:.2f} "
          f"(study: CD4 depletion lowers it); figure: {path}")
    return path


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("runs/examples"))
