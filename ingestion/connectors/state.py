"""Incremental state shared by connectors: a high-water mark per stream, plus the keys
already taken at exactly that mark (the next run asks `>= mark` and skips those keys,
so rows sharing the mark's timestamp are neither lost nor fetched twice)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path


@dataclass
class Watermark:
    value: str | None = None  # ISO 8601 text, comparable as the source orders it
    keys_at_value: set[str] = field(default_factory=set)

    def advance(self, rows: Iterable[tuple[str, str]]) -> None:
        """Move the mark to the newest (key, stamp) of `rows`, keeping boundary keys."""
        for key, stamp in rows:
            if self.value is None or stamp > self.value:
                self.value, self.keys_at_value = stamp, {key}
            elif stamp == self.value:
                self.keys_at_value.add(key)

    def to_json(self) -> dict:
        return {"value": self.value, "keys_at_value": sorted(self.keys_at_value)}


@dataclass
class ConnectorState:
    path: Path
    streams: dict[str, Watermark] = field(default_factory=dict)
    runs: list[dict] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> ConnectorState:
        path = Path(path)
        if not path.is_file():
            return cls(path)
        data = json.loads(path.read_text(encoding="utf-8"))
        streams = {
            name: Watermark(w.get("value"), set(w.get("keys_at_value") or ()))
            for name, w in (data.get("streams") or {}).items()
        }
        return cls(path, streams, list(data.get("runs") or [])[-20:])

    def stream(self, name: str) -> Watermark:
        return self.streams.setdefault(name, Watermark())

    def save(self, run_info: dict | None = None) -> None:
        if run_info is not None:
            self.runs.append({"finished_at": datetime.now(UTC).isoformat(), **run_info})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "streams": {k: v.to_json() for k, v in sorted(self.streams.items())},
                    "runs": self.runs[-20:],
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        os.replace(tmp, self.path)


def run_stamp() -> str:
    """File-name timestamp of a run, UTC, unique to the microsecond."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
