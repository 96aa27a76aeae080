"""Shared by importers and connectors: write landing files in the contract's layout."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ingestion.entities import ENTITY_BY_FOLDER


@dataclass
class ImportSummary:
    """What an importer or connector wrote: rows per entity folder, files and notes."""

    source: str
    landing: Path
    row_counts: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    report_path: Path | None = None

    def line(self) -> str:
        counts = ", ".join(f"{k} {v:,}" for k, v in self.row_counts.items())
        return f"{self.source} -> {self.landing}: {counts or 'no rows'}"


def stable_id(prefix: str, *parts: str, length: int = 8) -> str:
    """A short id derived from names: the same input gives the same id on every run."""
    text = "\x1f".join(" ".join(str(p).split()).casefold() for p in parts)
    return f"{prefix}{hashlib.sha1(text.encode('utf-8')).hexdigest()[:length].upper()}"


def _text(series: pd.Series) -> pd.Series:
    """Values as landing text: booleans true/false, nulls empty, everything else str."""
    if pd.api.types.is_bool_dtype(series):
        return series.map({True: "true", False: "false"}).astype(object)
    return (
        series.astype(object)
        .where(series.notna(), None)
        .map(lambda v: v if v is None or isinstance(v, str) else _scalar(v))
    )


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def write_entity(landing: Path, folder: str, frame: pd.DataFrame, file_name: str) -> tuple[Path, int] | None:
    """Write `frame` as `<landing>/<folder>/<file_name>` with exactly the contract columns.

    Columns the frame lacks are written empty. Nothing is written for an empty frame
    (the loader rejects a file without data rows; a missing entity means no rows).
    The file appears atomically: written under a temporary name the loader ignores.
    """
    entity = ENTITY_BY_FOLDER[folder]
    if frame.empty:
        return None
    unknown = [c for c in frame.columns if c not in entity.all_columns]
    if unknown:
        raise ValueError(f"{folder}: columns not in the contract: {', '.join(unknown)}")
    out = pd.DataFrame(index=frame.index)
    for column in entity.all_columns:
        out[column] = _text(frame[column]) if column in frame.columns else None
    target = landing / folder / file_name
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    out.to_csv(tmp, index=False, lineterminator="\n", encoding="utf-8")
    os.replace(tmp, target)
    return target, len(out)


def write_entities(summary: ImportSummary, frames: dict[str, pd.DataFrame], file_stem: str) -> None:
    for folder, frame in frames.items():
        name = folder.split("/")[1]
        written = write_entity(summary.landing, folder, frame, f"{file_stem}_{name}.csv")
        if written:
            summary.files.append(written[0])
            summary.row_counts[folder] = written[1]


def write_report(path: Path, report: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    return path
