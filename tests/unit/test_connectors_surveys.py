"""Survey export -> surveys/responses, mapped by a per-survey YAML configuration, on a
realistic export: Chinese headers and free text, BOM, non-padded dates, skipped and
empty answers, labelled CSAT answers and an unreadable NPS answer."""

from __future__ import annotations

import csv

import duckdb
import pytest

from tests.conftest import FIXTURES

EXPORT = FIXTURES / "surveys" / "wjx_export_cs_2026q1.csv"
CONFIG = FIXTURES / "surveys" / "cs_2026q1.yml"


def _read(path):
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_export_maps_to_responses(tmp_path):
    from ingestion.connectors.surveys import import_survey_export
    from ingestion.entities import ENTITY_BY_FOLDER

    landing = tmp_path / "landing"
    summary = import_survey_export(EXPORT, CONFIG, landing)
    (path,) = summary.files
    assert path == landing / "surveys/responses/responses_cs-2026q1_wjx_export_cs_2026q1.csv"
    with path.open(encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == list(ENTITY_BY_FOLDER["surveys/responses"].all_columns)
    rows = {r["response_id"]: r for r in _read(path)}
    assert rows == {
        "cs-2026q1-1-nps": {
            "response_id": "cs-2026q1-1-nps",
            "account_id": "A1",
            "rep_id": "S1",
            "survey_type": "nps",
            "score": "9",
            "submitted_at": "2026-01-15T10:23:45",
        },
        "cs-2026q1-1-csat": {
            "response_id": "cs-2026q1-1-csat",
            "account_id": "A1",
            "rep_id": "S1",
            "survey_type": "csat",
            "score": "5",
            "submitted_at": "2026-01-15T10:23:45",
        },
        "cs-2026q1-2-nps": rows["cs-2026q1-2-nps"],
        "cs-2026q1-2-csat": rows["cs-2026q1-2-csat"],
        # 3: NPS skipped ("(跳过)"), CSAT answered.
        "cs-2026q1-3-csat": rows["cs-2026q1-3-csat"],
        # 4: CSAT left empty.
        "cs-2026q1-4-nps": rows["cs-2026q1-4-nps"],
        # 5: NPS answered in words ("不好说"): left out and reported.
        "cs-2026q1-5-csat": rows["cs-2026q1-5-csat"],
        "cs-2026q1-6-nps": rows["cs-2026q1-6-nps"],
        "cs-2026q1-6-csat": rows["cs-2026q1-6-csat"],
    }
    assert rows["cs-2026q1-2-nps"]["score"] == "6"
    assert rows["cs-2026q1-2-csat"]["score"] == "3"
    assert rows["cs-2026q1-2-csat"]["submitted_at"] == "2026-01-16T09:05:02"
    assert (rows["cs-2026q1-3-csat"]["rep_id"], rows["cs-2026q1-3-csat"]["score"]) == ("S2", "4")
    assert rows["cs-2026q1-4-nps"]["score"] == "10"
    assert (rows["cs-2026q1-5-csat"]["rep_id"], rows["cs-2026q1-5-csat"]["score"]) == ("S3", "2")
    assert rows["cs-2026q1-6-csat"]["score"] == "5"  # a plain number is read as it is
    assert summary.row_counts == {"surveys/responses": 9}
    notes = " | ".join(summary.notes)
    assert "6 responses; unanswered per question: nps 1, csat 1" in notes
    assert "1 unreadable answer(s)" in notes and "不好说" in notes

    # Same export again: same file, same bytes (the loader skips it by content hash).
    before = path.read_bytes()
    import_survey_export(EXPORT, CONFIG, landing)
    assert path.read_bytes() == before

    from ingestion.landing import load_landing

    con = duckdb.connect()
    (loaded,) = [f for r in load_landing(con, landing) for f in r.files]
    assert loaded.status == "loaded" and loaded.rows_read == 9


def test_time_zone_and_config_errors(tmp_path):
    import yaml

    from ingestion.connectors.surveys import (
        SurveyConfig,
        SurveyConfigError,
        import_survey_export,
    )

    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    data["submitted_at"]["timezone"] = "UTC"
    summary = import_survey_export(EXPORT, SurveyConfig.from_mapping(data), tmp_path / "l")
    rows = _read(summary.files[0])
    assert rows[0]["submitted_at"] == "2026-01-15T10:23:45+00:00"

    bad = dict(data, questions=[{"column": "x", "survey_type": "ces"}])
    with pytest.raises(SurveyConfigError, match="survey_type 'ces'"):
        SurveyConfig.from_mapping(bad)
    missing = dict(data, questions=[{"column": "不存在的问题", "survey_type": "nps"}])
    with pytest.raises(SurveyConfigError, match="not in the export"):
        import_survey_export(EXPORT, SurveyConfig.from_mapping(missing), tmp_path / "l")
