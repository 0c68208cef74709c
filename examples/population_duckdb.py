"""A virtual population of infected lungs to Parquet, then questions asked of it with DuckDB.

Two thousand influenza-infected virtual mice drawn around the calibrated parameters and screened
by the physiological envelope, read out at 0, 9, 15 and 28 days; DuckDB reads the Parquet files
in place: how the DCC fold change at 15 dpi is spread, and which parameter goes with it most.

    .venv/bin/python examples/population_duckdb.py [OUT]     (default OUT: runs/examples)
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

import awaken


def main(out: Path) -> list[tuple]:
    run = out / "population"
    population = awaken.simulate_population("influenza", n=2000, seed=3, output_days=[0, 9, 15, 28], out=run,
                                            overwrite=True)
    print(f"{population.accepted} accepted of {population.candidates} candidates "
          f"(acceptance {population.acceptance_rate:.1%})")
    readouts, parameters = str(run / "readouts.parquet"), str(run / "parameters.parquet")
    spread = duckdb.sql(f"""
        WITH fold AS (
            SELECT d15.individual, d15.dcc_count / d0.dcc_count AS fold15
            FROM read_parquet('{readouts}') d15 JOIN read_parquet('{readouts}') d0 USING (individual)
            WHERE d15.day = 15 AND d0.day = 0)
        SELECT quantile_cont(fold15, 0.05) AS p05, median(fold15) AS median, quantile_cont(fold15, 0.95) AS p95
        FROM fold""").fetchall()
    print("DCC fold change at 15 dpi (5 %, median, 95 %):", ", ".join(f"{v:.0f}" for v in spread[0]))
    names = [p.name for p in awaken.parameter_table("mouse") if p.cv > 0]
    correlations = duckdb.sql(f"""
        WITH fold AS (
            SELECT d15.individual, ln(d15.dcc_count / d0.dcc_count) AS log_fold
            FROM read_parquet('{readouts}') d15 JOIN read_parquet('{readouts}') d0 USING (individual)
            WHERE d15.day = 15 AND d0.day = 0)
        SELECT {", ".join(f"corr(log_fold, ln(p.{n})) AS {n}" for n in names)}
        FROM fold JOIN read_parquet('{parameters}') p USING (individual)""").df().iloc[0]
    ranked = correlations.abs().sort_values(ascending=False).head(3)
    top = [(name, float(correlations[name])) for name in ranked.index]
    print("parameters most correlated with the log fold change:",
          "; ".join(f"{name} {value:+.2f}" for name, value in top))
    return top


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("runs/examples"))
