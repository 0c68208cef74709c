"""Hostile or odd input files and values: refused fast with exit status 2 and a message that names
the problem and cannot itself crash (issue 13)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from awaken.cli import app
from awaken.documents import MAX_DEPTH, MAX_NODES, load_document
from awaken.errors import InputError
from awaken.experiments.protocol import Experiment
from awaken.schemas import load_model

runner = CliRunner()

BOMB = "".join(f"{k}: &{k} [{', '.join(['*' + p] * 9 if p else ['lol'] * 9)}]\n"
               for p, k in zip(["", *"abcdefgh"], "abcdefghi"))


def validate(path: Path):
    started = time.perf_counter()
    result = runner.invoke(app, ["validate", str(path)])
    return result, time.perf_counter() - started


def one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("name, content, expected", [
    ("bomb.yaml", BOMB, f"expands to more than {MAX_NODES:,} values"),
    ("deep.yaml", "a: " + "[" * 3000 + "]" * 3000 + "\n", f"nested more than {MAX_DEPTH} levels deep"),
    ("deep_map.yaml", "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "v: 1\n",
     f"nested more than {MAX_DEPTH} levels deep"),
    ("deep.toml", "a = " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
    ("deep_table.toml", "a = " + "{b = " * 100 + "1" + "}" * 100 + "\n", f"nested more than {MAX_DEPTH} levels deep"),
    ("dup.yaml", "name: x\nmice: 8\nmice: 2\n", "line 3, column 1: duplicate key 'mice' (first on line 2)"),
    ("dup.toml", 'name = "x"\nmice = 8\nmice = 2\n', "cannot parse"),
    ("octal.yaml", "name: x\nseed: 010\n", "ambiguous number '010'"),
    ("sexagesimal.yaml", "name: x\ndays: 1:20\n", "ambiguous number '1:20'"),
    ("bool_int.yaml", "name: x\nmice: true\n", "mice = true: Input should be a valid integer"),
    ("string_number.yaml", "name: x\nvirus: {kind: influenza_a_pr8, dose: \"75\"}\n", 'virus.dose = "75"'),
    ("list.yaml", "- a\n- b\n", "must be a mapping of keys to values, not list"),
    ("markup.yaml", 'name: "a[/]b [bold]x"\n', "name = \"a[/]b [bold]x\": String should match pattern '^[a-z0-9_]+$'"),
    ("list_key.yaml", "? [a, b]\n: 1\n", "a key must be a plain name"),
    ("map_key.yaml", "{[1]: 2}\n", "a key must be a plain name"),
    ("huge_int.yaml", "name: x\nseed: " + "9" * 5000 + "\n", "digits is not a setting"),
    ("huge_int.toml", 'name = "x"\nseed = ' + "9" * 5000 + "\n", "cannot parse"),
    ("base60_float.yaml", "name: x\ndays: 1:20.5\n", "ambiguous number '1:20.5'"),
])
def test_a_hostile_or_odd_file_exits_2_fast_with_a_short_clear_message(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_text(content)
    result, seconds = validate(path)
    assert result.exit_code == 2, result.output
    assert expected in one_line(result.output), result.output
    assert len(result.output) < 2000 and seconds < 10


def test_the_alias_bomb_is_small_and_would_expand_to_hundreds_of_millions(tmp_path):
    assert len(BOMB.encode()) < 400
    assert 9 ** 9 > 3e8  # what a loader without the bound would build


def test_yaml_12_floats_and_plain_numbers_still_read(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("name: x\nvirus: {kind: influenza_a_pr8, dose: 1e2}\nparameters: {il6_clearance: 2.0E+1}\n"
                    "days: 1_000\n")
    experiment = load_model(path, Experiment)
    assert experiment.virus.dose == 100.0 and experiment.parameters == {"il6_clearance": 20.0}
    assert experiment.days == 1000


def test_non_utf8_text_is_refused_by_byte(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: café\n".encode("latin-1"))
    result, _ = validate(path)
    assert result.exit_code == 2 and "not UTF-8 text (byte 0xe9 at position 9)" in one_line(result.output)


def test_an_unreadable_file_is_named_not_raised(tmp_path, monkeypatch):
    path = tmp_path / "secret.yaml"
    path.write_text("name: x\n")
    if os.geteuid() != 0:
        path.chmod(0)
    else:  # root reads everything: make the read itself fail as it would for a user
        original = Path.open

        def denied(self: Path, *args, **kwargs):
            if self == path:
                raise PermissionError(13, "Permission denied")
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Path, "open", denied)
    result = runner.invoke(app, ["experiment", "run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "cannot read it (Permission denied)" in one_line(result.output)
    assert not (tmp_path / "out").exists()


def test_a_file_that_is_too_large_is_not_read(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("name: x\n" + "#" * 2_000_000 + "\n")
    with pytest.raises(InputError, match="scenario files are at most"):
        load_document(path)


@pytest.mark.parametrize("content, expected", [
    ("start: 1420070400\n", "start = 1420070400: give a date as YYYY-MM-DD"),
    ("start: 2015-01-01 10:00:00\n", "give a date (YYYY-MM-DD), not a date and time"),
    ("pandemic: 1\n", "pandemic = 1: Input should be a valid boolean"),
    ("cancer_mix: {breast: true, other: 0}\n", "cancer_mix.breast = true"),
])
def test_cohort_scenarios_do_not_coerce_odd_values(tmp_path, content, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    result = runner.invoke(app, ["cohort", "--scenario", str(path), "--n", "10", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert expected in one_line(result.output)
    assert not (tmp_path / "out").exists()


def test_user_text_in_any_message_is_printed_as_it_is(tmp_path):
    """rich markup in a value ('[/]', '[red]') is shown, not interpreted (it used to raise MarkupError)."""
    result = runner.invoke(app, ["experiment", "run", "[/]nope[red]", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert '"[/]nope[red]": unknown experiment' in one_line(result.output)
    result = runner.invoke(app, ["parameters", "--virus", "[bold]zika[/]"])
    assert result.exit_code == 2 and "--virus = \"[bold]zika[/]\"" in result.output


def test_values_in_messages_are_cut_short(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text("name: x\nparameters: {" + ", ".join(f"p{i}: {i}" for i in range(5000)) + "}\n")
    result, _ = validate(path)
    assert result.exit_code == 2
    assert len(result.output) < 2000 and "and 4995 more" in one_line(result.output)


@pytest.mark.parametrize("kind", ["fifo", "device", "long name"])
def test_files_that_are_not_files_are_refused_without_reading(tmp_path, kind):
    """A pipe would block forever and /dev/zero would fill the memory; a name too long is named."""
    path = tmp_path / "x.yaml"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/zero")
    else:
        path = tmp_path / ("n" * 300 + ".yaml")
    result, seconds = validate(path)
    assert result.exit_code == 2, result.output
    assert ("not a regular file" if kind != "long name" else "File name too long") in one_line(result.output)
    assert seconds < 10


def test_a_problem_in_a_file_is_named_by_its_key_not_by_a_flag(tmp_path):
    """`experiment run bad.yaml` must not tell the user to fix a --days they never gave."""
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\ndays: 0\n")
    result = runner.invoke(app, ["experiment", "run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "  - days = 0: must be >= 1" in result.output and "--days" not in result.output


def test_records_that_cannot_be_read_are_named(tmp_path):
    from awaken.records import load_records

    for name in ("patients", "tests", "metastases", "deaths"):
        (tmp_path / f"{name}.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(InputError) as caught:
        load_records(tmp_path)
    assert caught.value.problems[0].field == "cohort"
    assert "patients.parquet cannot be read as the patients table" in str(caught.value)
    result = runner.invoke(app, ["analyze", "ukb", "--cohort", str(tmp_path)])
    assert result.exit_code == 2 and "--cohort" in result.output


def test_a_bad_second_table_is_still_blamed_on_the_records(tmp_path):
    import pyarrow.parquet as pq

    from awaken.api.cohort import simulate_cohort
    from awaken.records import load_records, read_cohort

    tables = read_cohort(simulate_cohort(n=300, seed=1, out=tmp_path / "c", inline=True).out)
    mine = tmp_path / "mine"
    mine.mkdir()
    for name in ("patients", "metastases", "deaths"):
        tables[name].to_parquet(mine / f"{name}.parquet", index=False)
    tables["tests"].assign(result="maybe").to_parquet(mine / "tests.parquet", index=False)
    with pytest.raises(InputError) as caught:
        load_records(mine)
    assert caught.value.problems[0].field == "cohort" and "tests.result" in str(caught.value)
    assert pq.read_table(mine / "patients.parquet").num_rows == 300
