from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.entities import ENTITIES, ENTITY_BY_FOLDER
from ingestion.landing import load_entity, load_landing

TEAMS = ENTITY_BY_FOLDER["crm/teams"]


def write(landing: Path, folder: str, name: str, content: bytes | str) -> Path:
    path = landing / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def test_contract_has_every_entity_once():
    assert len(ENTITIES) == 20
    assert len({e.folder for e in ENTITIES}) == 20


def test_rows_land_as_text_with_metadata(tmp_path, con):
    write(
        tmp_path,
        "crm/teams",
        "t.csv",
        '\ufeffteam_id,team_name,region,parent_team_id\nT1,"East, 东",east,\nT2,West,west,T1\n',
    )
    result = load_entity(con, tmp_path, TEAMS, run_id="r1")
    assert result.rows_loaded == 2 and not result.rejected
    rows = con.execute(
        "select team_id, team_name, parent_team_id, _source_file, _row_number, _batch_id is not null "
        "from raw.crm__teams order by _row_number"
    ).fetchall()
    assert rows == [
        ("T1", "East, 东", None, "crm/teams/t.csv", 1, True),
        ("T2", "West", "T1", "crm/teams/t.csv", 2, True),
    ]


def test_a_file_is_loaded_once_per_content(tmp_path, con):
    path = write(tmp_path, "crm/teams", "t.csv", "team_id,team_name,region,parent_team_id\nT1,A,east,\n")
    assert load_entity(con, tmp_path, TEAMS).rows_loaded == 1
    again = load_entity(con, tmp_path, TEAMS)
    assert again.rows_loaded == 0 and again.skipped == 1
    path.write_text("team_id,team_name,region,parent_team_id\nT1,A2,east,\n")  # changed: new batch
    assert load_entity(con, tmp_path, TEAMS).rows_loaded == 1
    assert con.execute("select count(*) from raw.crm__teams").fetchone() == (2,)


def test_whole_file_problems_reject_the_file_only(tmp_path, con):
    write(tmp_path, "crm/teams", "a_missing.csv", "team_id,team_name\nT1,A\n")
    write(tmp_path, "crm/teams", "b_empty.csv", "team_id,team_name,region,parent_team_id\n")
    write(
        tmp_path,
        "crm/teams",
        "c_latin1.csv",
        "team_id,team_name,region,parent_team_id\nT1,M\xfcnchen,x,\n".encode("latin-1"),
    )
    write(
        tmp_path,
        "crm/teams",
        "d_good.csv",
        "team_id,team_name,region,parent_team_id,extra\nT9,Good,east,,x\n",
    )
    result = load_entity(con, tmp_path, TEAMS)
    messages = {f.source_file.split("/")[-1]: f.message for f in result.rejected}
    assert "missing required column(s): region, parent_team_id" in messages["a_missing.csv"]
    assert "empty file" in messages["b_empty.csv"]
    assert "UTF-8" in messages["c_latin1.csv"]
    assert result.rows_loaded == 1  # the good file still flows
    good = next(f for f in result.files if f.status == "loaded")
    assert good.extra_columns == ["extra"] and "extra column(s) ignored" in good.message
    statuses = con.execute("select status, count(*) from raw._batches group by 1 order by 1").fetchall()
    assert statuses == [("loaded", 1), ("rejected", 3)]
    assert con.execute("select count(*) from raw.crm__teams").fetchone() == (1,)


def test_parquet_and_jsonl(tmp_path, con):
    table = pa.table({"team_id": ["T1"], "team_name": ["A"], "region": ["east"], "parent_team_id": [None]})
    (tmp_path / "crm/teams").mkdir(parents=True)
    pq.write_table(table, tmp_path / "crm/teams/t.parquet")
    write(
        tmp_path,
        "crm/teams",
        "t.jsonl",
        '{"team_id": "T2", "team_name": "B", "region": "west", "parent_team_id": "T1"}\n',
    )
    assert load_entity(con, tmp_path, TEAMS).rows_loaded == 2


def test_missing_entity_folders_mean_no_rows(tmp_path, con):
    results = load_landing(con, tmp_path)
    assert len(results) == 20 and all(r.rows_loaded == 0 for r in results)


def test_exact_duplicate_rows_share_a_fingerprint(tmp_path, con):
    write(
        tmp_path,
        "crm/teams",
        "t.csv",
        "team_id,team_name,region,parent_team_id\nT1,A,east,\nT1,A,east,\nT1,A,east,x\n",
    )
    load_entity(con, tmp_path, TEAMS)
    hashes = [
        r[0] for r in con.execute("select _row_hash from raw.crm__teams order by _row_number").fetchall()
    ]
    assert hashes[0] == hashes[1] != hashes[2]


def test_csv_reads_as_the_contract_says(tmp_path, con):
    """DuckDB reads the CSV itself: quoting, line breaks in values, nulls, BOM, CRLF."""
    write(
        tmp_path,
        "crm/teams",
        "t.csv",
        b"\xef\xbb\xbfteam_id,team_name,region,parent_team_id\r\n"
        b'T1,"a\r\nb, ""c""",NA,\r\n\r\nT2,"",null, x \r\n',
    )
    result = load_entity(con, tmp_path, TEAMS)
    assert result.rows_loaded == 2 and not result.rejected
    rows = con.execute(
        "select team_id, team_name, region, parent_team_id, _row_number from raw.crm__teams order by 5"
    ).fetchall()
    # only an unquoted empty field is null; "", "NA" and "null" are text; spaces are kept
    assert rows == [("T1", 'a\r\nb, "c"', "NA", None, 1), ("T2", "", "null", " x ", 2)]


def test_a_csv_the_strict_reader_refuses_is_read_by_arrow_or_rejected(tmp_path, con):
    header = "team_id,team_name,region,parent_team_id"
    write(tmp_path, "crm/teams", "a_mixed_line_endings.csv", f"{header}\nT1,A,east,\r\nT2,B,west,T1\n")
    write(tmp_path, "crm/teams", "b_ragged.csv", f"{header}\nT3,C,east,\nT4,D\n")
    write(tmp_path, "crm/teams", "c_twice.csv", "team_id,team_name,region,region,parent_team_id\nT5,E,x,y,\n")
    result = load_entity(con, tmp_path, TEAMS)
    assert result.rows_loaded == 2  # mixed line endings: loaded all the same
    messages = {f.source_file.split("/")[-1]: f.message for f in result.rejected}
    assert set(messages) == {"b_ragged.csv", "c_twice.csv"}
    assert "Expected 4 columns, got 2" in messages["b_ragged.csv"]
    assert messages["c_twice.csv"].endswith("column(s) named more than once: region")
    assert con.execute("select team_id, _row_number from raw.crm__teams order by 1").fetchall() == [
        ("T1", 1),
        ("T2", 2),
    ]


@pytest.mark.slow
def test_row_numbers_follow_the_file_in_a_file_read_in_parallel(tmp_path, con):
    """A file larger than the reader's buffer is read by several threads: the row number is
    still the record's place in the file (a quoted line break does not count)."""
    from ingestion.landing import csv_source

    lines = ["team_id,team_name,region,parent_team_id"]
    lines += [
        f'T{i:07d},"n\n{i}",east,' if i % 1000 == 0 else f"T{i:07d},name,east-region,"
        for i in range(1, 1_700_001)
    ]
    path = write(tmp_path, "crm/teams", "big.csv", "\n".join(lines) + "\n")
    assert path.stat().st_size > 32 << 20
    source = csv_source(path, list(TEAMS.all_columns))
    assert con.execute(
        f"select count(*), count(*) filter (where cast(substr(team_id, 2) as bigint) <> ordinality) "
        f"from {source}"
    ).fetchone() == (1_700_000, 0)


def test_unchanged_files_are_not_hashed_again(tmp_path, con, monkeypatch):
    """A nightly run hashes only new or rewritten files, not the whole history."""
    import ingestion.landing as landing

    path = write(tmp_path, "crm/teams", "t.csv", "team_id,team_name,region,parent_team_id\nT1,A,east,\n")
    hashed = []
    real = landing.file_sha256
    monkeypatch.setattr(landing, "file_sha256", lambda p: hashed.append(p.name) or real(p))
    load_entity(con, tmp_path, TEAMS)
    assert load_entity(con, tmp_path, TEAMS).skipped == 1
    assert hashed == ["t.csv"]
    # rewritten in place with the same size: a new modification time, hashed and loaded
    path.write_text("team_id,team_name,region,parent_team_id\nT1,B,east,\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert load_entity(con, tmp_path, TEAMS).rows_loaded == 1
    assert hashed == ["t.csv", "t.csv"]
    monkeypatch.setenv("SPM_REHASH", "1")
    assert load_entity(con, tmp_path, TEAMS).skipped == 1
    assert hashed == ["t.csv", "t.csv", "t.csv"]
