"""The runs layer's guarantees, probed as an adversarial user would (issue 13): nothing the user owns is
deleted, bad destinations and schedulers are refused before any work, killed and terminated runs leave
nothing behind, two writers of one directory do not both run, generated code is checked before it runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from awaken.cli import app
from awaken.errors import InputError
from awaken.runs.destination import protected_paths
from awaken.runs.directory import RunDirectory
from awaken.runs.execution import Execution, check_scheduler
from awaken.runs.leftovers import PARTIAL_MARKER, sweep_stale
from awaken.runs.provenance import FORMAT, read_provenance

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def one_line(output: str) -> str:
    return " ".join(output.split())


# ---------------------------------------------------------------- data loss
@pytest.mark.parametrize("command", [["cohort", "--n", "10"], ["experiment", "run", "pbs", "--days", "3"],
                                     ["population", "--n", "2"], ["export", "petab"]], ids=lambda c: c[0])
def test_overwrite_never_deletes_a_directory_awaken_did_not_write(tmp_path, command):
    """`mkdir -p d/thesis; awaken cohort --n 10 --out d --overwrite` once removed d/thesis."""
    (tmp_path / "d" / "thesis").mkdir(parents=True)
    (tmp_path / "d" / "thesis" / "chapter1.tex").write_text("three years of work")
    target = [str(tmp_path / "d")] if command[0] == "export" else ["--out", str(tmp_path / "d")]
    for overwrite in ([], ["--overwrite"]):
        result = invoke(*command, *target, *overwrite)
        assert result.exit_code == 2, result.output
        assert "not an awaken run" in one_line(result.output)
        assert "--overwrite" not in result.output  # the refusal does not suggest the flag that would not help
    assert (tmp_path / "d" / "thesis" / "chapter1.tex").read_text() == "three years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_overwrite_replaces_an_awaken_run_of_any_kind(tmp_path):
    out = tmp_path / "run"
    assert invoke("experiment", "run", "pbs", "--days", "3", "--mice", "1", "--out", str(out)).exit_code == 0
    refused = invoke("experiment", "run", "pbs", "--days", "4", "--mice", "1", "--out", str(out))
    assert refused.exit_code == 2 and "already holds an awaken run" in one_line(refused.output)
    assert "or pass --overwrite" in one_line(refused.output)
    replaced = invoke("population", "--n", "2", "--output-days", "0,9", "--out", str(out), "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert read_provenance(out)["kind"] == "population" and not (out / "report.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


@pytest.mark.parametrize("inside", [0, -1], ids=["package", "source tree"])
def test_paths_in_the_package_or_the_source_tree_are_refused(tmp_path, inside):
    """`--out src/awaken/lung --overwrite` once replaced the package."""
    protected = protected_paths()[inside]
    for target in (protected / "lung", protected / "new_run", protected):
        result = invoke("cohort", "--n", "10", "--out", str(target), "--overwrite")
        assert result.exit_code == 2, result.output
        assert "awaken's own" in one_line(result.output)
    assert (protected_paths()[0] / "lung" / "equations.py").is_file()
    with pytest.raises(InputError, match="awaken's own"):
        RunDirectory(protected_paths()[0].parent, overwrite=True)


# ---------------------------------------------------------------- check before working
def test_an_unusable_destination_is_refused_before_any_simulation(tmp_path):
    (tmp_path / "afile").write_text("")
    for out, reason in ((tmp_path / "afile" / "sub", "is a file"), (Path("/proc/awaken-test/run"), "fails"),
                        (tmp_path / "afile", "not a directory")):
        started = time.perf_counter()
        result = invoke("population", "--n", "100000", "--out", str(out))
        assert result.exit_code == 2, result.output
        assert reason in one_line(result.output) and "--out" in result.output
        assert time.perf_counter() - started < 5  # refused, not simulated (100,000 individuals take ~11 s)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


@pytest.mark.parametrize("address, reason", [("not an address", "not a Dask scheduler address"),
                                             ("tcp://127.0.0.1:99999", "not a Dask scheduler address"),
                                             ("tcp://127.0.0.1:1", "no scheduler answers there")])
def test_a_bad_scheduler_is_refused_before_anything_is_written(tmp_path, address, reason):
    for command in (["cohort", "--n", "1000"], ["power", "--n", "100", "--replicates", "2"]):
        result = invoke(*command, "--scheduler", address, "--out", str(tmp_path / "out"))
        assert result.exit_code == 2, result.output
        assert reason in one_line(result.output) and "--scheduler" in result.output
    assert list(tmp_path.iterdir()) == []


def test_execution_checks_its_settings():
    with pytest.raises(InputError, match="workers"):
        Execution(workers=0)
    with pytest.raises(InputError, match="workers"):
        Execution(workers=True)
    assert check_scheduler("inproc://10.0.0.1/1/1") == "inproc://10.0.0.1/1/1"
    assert Execution(inline=True).map(divmod, [(7, 2), (9, 4)]) == [(3, 1), (2, 1)]


# ---------------------------------------------------------------- no half-written leftovers
def _awaken(*args: str) -> list[str]:
    return [sys.executable, "-m", "awaken.cli", *args]


def _wait_for(predicate, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        assert process.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.05)
    raise AssertionError("timed out")


def _long_run(out: Path) -> subprocess.Popen:
    """A run that takes tens of seconds: 60 mice for a year, one by one."""
    return subprocess.Popen(_awaken("experiment", "run", "influenza", "--mice", "60", "--out", str(out)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_sigterm_is_handled_like_ctrl_c_and_leaves_nothing(tmp_path):
    out = tmp_path / "run"
    process = _long_run(out)
    _wait_for(lambda: list(tmp_path.glob(".run.partial-*")), process)
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    assert process.returncode != 0
    assert list(tmp_path.iterdir()) == [], sorted(p.name for p in tmp_path.iterdir())


def test_a_killed_runs_leftovers_are_swept_by_the_next_run(tmp_path):
    out = tmp_path / "run"
    process = _long_run(out)
    _wait_for(lambda: list(tmp_path.glob(".run.partial-*")), process)
    process.kill()
    process.wait(timeout=60)
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert any(".partial-" in name for name in leftovers) and ".run.awaken-lock" in leftovers
    (tmp_path / ".mine.partial-1234").mkdir()  # someone else's files with lookalike names: kept
    (tmp_path / ".build.lock").write_text("")
    (tmp_path / ".tool.awaken-lock").write_text("999999")
    assert invoke("experiment", "run", "pbs", "--days", "2", "--mice", "1", "--out", str(tmp_path / "next")).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".build.lock", ".mine.partial-1234", ".tool.awaken-lock",
                                                          "next"]


def test_two_processes_cannot_write_one_directory(tmp_path):
    out = tmp_path / "run"
    process = _long_run(out)
    try:
        _wait_for(lambda: list(tmp_path.glob(".run.partial-*")), process)
        result = invoke("experiment", "run", "pbs", "--days", "2", "--out", str(out))
        assert result.exit_code == 2, result.output
        assert f"another awaken process (pid {process.pid}) is writing it" in one_line(result.output)
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_a_stale_partial_of_a_live_process_is_kept(tmp_path):
    folder = tmp_path / ".x.partial-00000000"
    folder.mkdir()
    (folder / PARTIAL_MARKER).write_text(json.dumps({"pid": os.getpid(), "host": os.uname().nodename,
                                                      "process_start": None}))
    assert sweep_stale(tmp_path) == [] and folder.is_dir()


def test_every_run_directory_carries_the_one_provenance_format(tmp_path):
    runs = {"experiment": ["experiment", "run", "pbs", "--days", "2", "--mice", "1"],
            "population": ["population", "--n", "2", "--output-days", "0,9"],
            "cohort": ["cohort", "--n", "300", "--workers", "1", "--block-size", "300"],
            "power": ["power", "--n", "500", "--replicates", "2", "--strengths", "0", "--workers", "1"]}
    for kind, command in runs.items():
        out = tmp_path / kind
        result = invoke(*command, "--out", str(out))
        assert result.exit_code == 0, result.output
        record = json.loads((out / "run.json").read_text())
        assert record["format"] == FORMAT and record["kind"] == kind and record["complete"] is True
        assert {"awaken_version", "git", "command", "seed", "scenarios", "settings", "host", "started", "finished",
                "dependencies"} <= set(record)
        assert record["command"] and all(isinstance(word, str) for word in record["command"])
        assert all(len(s["sha256"]) == 64 for s in record["scenarios"])
        assert record["dependencies"]["numpy"] and record["host"]["cpus"]


# ---------------------------------------------------------------- generated code is trusted code
def test_generated_code_is_checked_against_its_hash_before_it_is_imported(tmp_path, monkeypatch):
    from awaken.lung.compiled import compiled_model
    from awaken.solvers import fast
    from awaken.solvers.codegen import generated_source

    monkeypatch.setenv("AWAKEN_CACHE_DIR", str(tmp_path))
    source = generated_source(compiled_model())
    path = fast._generated_file(source)
    assert path.read_text() == source
    path.write_text(source + "\nimport os; os.system('touch /tmp/pwned')\n")  # planted after the first write
    assert fast._generated_file(source) == path
    assert path.read_text() == source  # replaced, never run as it was


def test_a_code_cache_others_can_write_to_is_refused(tmp_path, monkeypatch):
    from awaken.solvers import fast

    monkeypatch.setenv("AWAKEN_CACHE_DIR", str(tmp_path))
    (tmp_path / "numba").mkdir()
    (tmp_path / "numba").chmod(0o777)
    with pytest.raises(fast.FastSolverError, match="writable by other users"):
        fast._generated_file("x = 1\n")


def test_a_resumable_run_does_not_continue_another_kind_of_run(tmp_path):
    out = tmp_path / "run"
    assert invoke("experiment", "run", "pbs", "--days", "2", "--mice", "1", "--out", str(out)).exit_code == 0
    result = invoke("cohort", "--n", "100", "--workers", "1", "--out", str(out))
    assert result.exit_code == 2 and "another kind of awaken run (experiment, not cohort)" in one_line(result.output)
    assert read_provenance(out)["kind"] == "experiment"


def test_exports_replace_only_files_awaken_wrote(tmp_path):
    from awaken.api.export import export_omex, export_sbml

    mine = tmp_path / "lung.xml"
    mine.write_text("<notes>my own model</notes>")
    for overwrite in (False, True):
        with pytest.raises(InputError, match="already exists|not written by awaken"):
            export_sbml(mine, overwrite=overwrite)
    assert mine.read_text() == "<notes>my own model</notes>"
    ours = export_sbml(tmp_path / "awaken.xml").path
    with pytest.raises(InputError, match="or pass overwrite=True"):
        export_sbml(ours)
    assert export_sbml(ours, experiment="pbs", overwrite=True).events == 0
    (tmp_path / "omex").mkdir()
    (tmp_path / "omex" / "pbs.omex").write_bytes(b"not an archive")
    with pytest.raises(InputError, match="not written by awaken"):
        export_omex(tmp_path / "omex", experiments=["pbs"], days=10, overwrite=True)
    assert (tmp_path / "omex" / "pbs.omex").read_bytes() == b"not an archive"
    with pytest.raises(InputError, match="cannot be written|does not exist"):
        export_sbml(Path("/proc/awaken-test/lung.xml"))


def test_an_analysis_never_replaces_the_records_it_reads(tmp_path):
    from awaken.api.analyses import analyze_ukb
    from awaken.api.cohort import simulate_cohort

    records = simulate_cohort(n=500, seed=1, out=tmp_path / "cohort", inline=True).out
    with pytest.raises(InputError, match="the records it reads"):
        analyze_ukb(records, out=records, overwrite=True)
    assert (records / "patients").is_dir()
