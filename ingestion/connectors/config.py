"""Per-company sources file (config/sources.example.yml): which source feeds which
landing entity, and each connector's settings. Secrets are never in it: a setting that
names a secret holds the name of an environment variable (`*_env`)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from ingestion.entities import ENTITY_BY_FOLDER

DEFAULT_PATH = Path("config/sources.yml")
_SECRET_KEY = re.compile(r"(password|passwd|secret|token|api_key|apikey|dsn|credential)", re.I)
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class SourcesConfigError(ValueError):
    pass


def resolve_path(path: Path | None) -> Path:
    return Path(path or os.environ.get("SPM_SOURCES") or DEFAULT_PATH)


def _check_secrets(node, where: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}.{key}"
            if isinstance(value, dict | list):
                _check_secrets(value, here)
            elif isinstance(value, str) and re.search(r"://[^/@\s]+:[^/@\s]+@", value):
                raise SourcesConfigError(f"{here}: a URL with a password; use an *_env setting")
            elif _SECRET_KEY.search(str(key)) and not str(key).endswith("_url"):
                if not str(key).endswith("_env"):
                    raise SourcesConfigError(
                        f"{here}: secrets do not go in this file; name an environment "
                        f"variable instead ({key}_env: SPM_...)"
                    )
                if not _ENV_NAME.match(str(value)):
                    raise SourcesConfigError(f"{here}: {value!r} is not an environment variable name")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _check_secrets(item, f"{where}[{i}]")


def load_sources(path: Path | None = None) -> dict:
    path = resolve_path(path)
    if not path.is_file():
        raise SourcesConfigError(
            f"sources file {path} not found (copy config/sources.example.yml, or set SPM_SOURCES)"
        )
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    sources = data.get("sources")
    if not isinstance(sources, dict):
        raise SourcesConfigError(f"{path}: a `sources:` mapping is required")
    _check_secrets(data, path.name)
    for name, section in sources.items():
        for entity in (section or {}).get("feeds", []) or []:
            if entity not in ENTITY_BY_FOLDER:
                raise SourcesConfigError(
                    f"{path.name}: sources.{name}.feeds: {entity!r} is no landing entity"
                )
    return data


def section(path: Path | None, name: str) -> dict:
    sources = load_sources(path)["sources"]
    if name not in sources:
        raise SourcesConfigError(f"{resolve_path(path)}: no `sources.{name}` section")
    body = dict(sources[name] or {})
    if body.get("enabled") is False:
        raise SourcesConfigError(f"sources.{name} is disabled (enabled: false)")
    return body
