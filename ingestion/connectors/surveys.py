"""Survey tool exports -> `surveys/responses`.

A survey tool exports one row per response and one column per question, in its own
date format and with its own markers for a skipped question. A small YAML file per
survey says which column is which:

```yaml
survey_id: cs-2026q1            # goes into response ids and the file name
encoding: utf-8-sig             # default; BOM or not
delimiter: ","
response_id_column: 序号
submitted_at: {column: 提交答卷时间, format: "%Y/%m/%d %H:%M:%S", timezone: null}
account: {column: 1、客户编号, map: {}}          # map: export value -> account_id
rep: {column: 2、您的销售顾问, map: {张伟: S1}}    # map: export value -> rep_id
skip_values: ["", "(跳过)", "(空)", "N/A"]       # = unanswered
questions:
  - {column: "3、您向朋友或同事推荐我们的可能性有多大？", survey_type: nps}
  - {column: "4、您对我们服务的总体满意度", survey_type: csat,
     answers: {非常满意: 5, 满意: 4, 一般: 3, 不满意: 2, 非常不满意: 1}}
```

Each answered NPS / CSAT question of a response becomes one row (`response_id` =
`<survey_id>-<response id>-<survey_type>`); an unanswered one none. An answer that is
neither a number nor in `answers` is left out and counted in the summary; a number
out of range is passed on, so the pipeline's rule lists it in `dq_rejected_rows`.
`timezone: null` means the timestamps are in the company time zone (written without
offset); a zone name (e.g. `UTC`) writes them with their offset. Other columns
(free-text comments, IP, duration) are ignored. The file is named after the survey
and the export file, so importing the same export twice writes the same file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from ingestion.importers.common import ImportSummary, write_entity

SURVEY_TYPES = ("nps", "csat")
DEFAULT_SKIP = ("", "(跳过)", "(空)", "N/A", "n/a", "-")


class SurveyConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Question:
    column: str
    survey_type: str
    answers: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SurveyConfig:
    survey_id: str
    response_id_column: str
    submitted_at_column: str
    date_format: str
    questions: tuple[Question, ...]
    account_column: str | None = None
    rep_column: str | None = None
    account_map: dict[str, str] = field(default_factory=dict)
    rep_map: dict[str, str] = field(default_factory=dict)
    timezone: str | None = None
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    skip_values: tuple[str, ...] = DEFAULT_SKIP

    @classmethod
    def load(cls, path: Path) -> SurveyConfig:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        return cls.from_mapping(data, str(path))

    @classmethod
    def from_mapping(cls, data: dict, where: str = "survey config") -> SurveyConfig:
        def need(mapping: dict, key: str, ctx: str):
            if not mapping.get(key):
                raise SurveyConfigError(f"{where}: {ctx}{key} is required")
            return mapping[key]

        submitted = need(data, "submitted_at", "")
        if not isinstance(submitted, dict):
            raise SurveyConfigError(f"{where}: submitted_at needs column and format")
        questions = []
        for i, q in enumerate(need(data, "questions", "")):
            kind = str(need(q, "survey_type", f"questions[{i}].")).lower()
            if kind not in SURVEY_TYPES:
                raise SurveyConfigError(
                    f"{where}: questions[{i}].survey_type {kind!r}: use one of {SURVEY_TYPES}"
                )
            answers = {str(k).strip(): float(v) for k, v in (q.get("answers") or {}).items()}
            questions.append(Question(str(need(q, "column", f"questions[{i}].")), kind, answers))
        account = data.get("account") or {}
        rep = data.get("rep") or {}
        survey_id = str(need(data, "survey_id", ""))
        if not re.fullmatch(r"[0-9A-Za-z_.-]+", survey_id):
            raise SurveyConfigError(f"{where}: survey_id may hold letters, digits, _ . - only")
        return cls(
            survey_id=survey_id,
            response_id_column=str(need(data, "response_id_column", "")),
            submitted_at_column=str(need(submitted, "column", "submitted_at.")),
            date_format=str(need(submitted, "format", "submitted_at.")),
            timezone=submitted.get("timezone"),
            questions=tuple(questions),
            account_column=account.get("column"),
            rep_column=rep.get("column"),
            account_map={str(k): str(v) for k, v in (account.get("map") or {}).items()},
            rep_map={str(k): str(v) for k, v in (rep.get("map") or {}).items()},
            encoding=data.get("encoding", "utf-8-sig"),
            delimiter=data.get("delimiter", ","),
            skip_values=tuple(str(v) for v in data.get("skip_values", DEFAULT_SKIP)),
        )


def _mapped(values: pd.Series, mapping: dict[str, str]) -> tuple[pd.Series, list[str]]:
    if not mapping:
        return values, []
    out = values.map(lambda v: mapping.get(v, v) if isinstance(v, str) else v)
    unmapped = sorted({v for v in values.dropna() if v not in mapping})
    return out, unmapped


def import_survey_export(export_file: Path, config: SurveyConfig | Path, landing: Path) -> ImportSummary:
    export_file, landing = Path(export_file), Path(landing)
    cfg = config if isinstance(config, SurveyConfig) else SurveyConfig.load(Path(config))
    frame = pd.read_csv(
        export_file,
        dtype=str,
        keep_default_na=False,
        encoding=cfg.encoding,
        sep=cfg.delimiter,
    )
    frame.columns = [c.strip() for c in frame.columns]
    wanted = [cfg.response_id_column, cfg.submitted_at_column]
    wanted += [c for c in (cfg.account_column, cfg.rep_column) if c]
    wanted += [q.column for q in cfg.questions]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise SurveyConfigError(f"{export_file.name}: column(s) not in the export: {missing}")
    frame = frame.apply(lambda s: s.str.strip())
    skip = set(cfg.skip_values)
    summary = ImportSummary(f"survey {cfg.survey_id}", landing)

    submitted = pd.to_datetime(frame[cfg.submitted_at_column], format=cfg.date_format, errors="coerce")
    bad_dates = int(submitted.isna().sum())
    if cfg.timezone:
        submitted_text = submitted.dt.tz_localize(cfg.timezone).map(
            lambda t: None if pd.isna(t) else t.isoformat()
        )
    else:
        submitted_text = submitted.dt.strftime("%Y-%m-%dT%H:%M:%S")
    submitted_text = submitted_text.where(submitted.notna(), None)

    def column(name: str | None) -> pd.Series:
        if not name:
            return pd.Series(None, index=frame.index, dtype=object)
        return frame[name].where(~frame[name].isin(skip), None)

    accounts, unmapped_accounts = _mapped(column(cfg.account_column), cfg.account_map)
    reps, unmapped_reps = _mapped(column(cfg.rep_column), cfg.rep_map)
    parts, unanswered, unreadable = [], {}, {}
    for q in cfg.questions:
        answer = frame[q.column]
        answered = ~answer.isin(skip)
        score = pd.to_numeric(answer.where(answered), errors="coerce")
        if q.answers:
            score = score.fillna(answer.map(q.answers))
        readable = answered & score.notna()
        unanswered[q.column] = int((~answered).sum())
        bad = answer[answered & score.isna()]
        if len(bad):
            unreadable[q.column] = {"count": len(bad), "examples": bad.head(3).tolist()}
        parts.append(
            pd.DataFrame(
                {
                    "response_id": cfg.survey_id
                    + "-"
                    + frame.loc[readable, cfg.response_id_column]
                    + "-"
                    + q.survey_type,
                    "account_id": accounts[readable],
                    "rep_id": reps[readable],
                    "survey_type": q.survey_type,
                    "score": score[readable].map(lambda s: f"{s:g}"),
                    "submitted_at": submitted_text[readable],
                }
            )
        )
    rows = pd.concat(parts, ignore_index=True)
    if rows["response_id"].duplicated().any():
        raise SurveyConfigError(f"{export_file.name}: response ids repeat; two questions of one survey_type?")
    stem = re.sub(r"[^0-9A-Za-z_.-]+", "_", export_file.stem).strip("_") or "export"
    written = write_entity(landing, "surveys/responses", rows, f"responses_{cfg.survey_id}_{stem}.csv")
    if written:
        summary.files.append(written[0])
        summary.row_counts["surveys/responses"] = written[1]
    summary.notes.append(
        f"{len(frame)} responses; unanswered per question: "
        + ", ".join(f"{q.survey_type} {unanswered[q.column]}" for q in cfg.questions)
    )
    for name, info in unreadable.items():
        summary.notes.append(
            f"{info['count']} unreadable answer(s) in {name!r} left out, e.g. {info['examples']}"
        )
    if bad_dates:
        summary.notes.append(f"{bad_dates} response(s) with a date not in {cfg.date_format!r}")
    if unmapped_reps:
        summary.notes.append(f"rep values not in rep map (passed as ids): {unmapped_reps}")
    if unmapped_accounts:
        summary.notes.append(f"account values not in account map (passed as ids): {unmapped_accounts}")
    return summary
