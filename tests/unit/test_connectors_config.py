"""The sources file (secrets only as env var names) and the `spm import` commands."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tests.conftest import FIXTURES

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "sources.example.yml"


def test_example_sources_file_parses_into_connector_settings():
    from ingestion.connectors.config import load_sources, section
    from ingestion.connectors.crm_api import CrmApiConfig
    from ingestion.connectors.orders_db import OrdersDbConfig

    data = load_sources(EXAMPLE)
    assert "crm/opportunities" in data["sources"]["crm_api"]["feeds"]
    crm = CrmApiConfig.from_mapping(section(EXAMPLE, "crm_api"))
    assert (crm.client_secret_env, crm.activity_types["拜访"]) == ("SPM_CRM_CLIENT_SECRET", "visit")
    orders = OrdersDbConfig.from_mapping(section(EXAMPLE, "orders_db"))
    spec = {t.entity: t for t in orders.tables}["orders/orders"]
    assert spec.source_column("account_id") == "customer_id"
    assert (orders.schema, orders.lag_seconds) == ("sales", 60)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"client_secret": "hunter2"}, "secrets do not go in this file"),
        ({"dsn": "postgresql://u:p@h/db"}, "URL with a password"),
        ({"client_secret_env": "not a name"}, "not an environment variable name"),
    ],
)
def test_secrets_in_the_sources_file_are_refused(tmp_path, setting, message):
    from ingestion.connectors.config import SourcesConfigError, load_sources

    path = tmp_path / "sources.yml"
    path.write_text(yaml.safe_dump({"sources": {"crm_api": {"base_url": "https://x", **setting}}}))
    with pytest.raises(SourcesConfigError, match=message):
        load_sources(path)


def test_unknown_feed_and_disabled_source(tmp_path):
    from ingestion.connectors.config import SourcesConfigError, load_sources, section

    path = tmp_path / "sources.yml"
    path.write_text(yaml.safe_dump({"sources": {"x": {"feeds": ["crm/deals"]}}}))
    with pytest.raises(SourcesConfigError, match="no landing entity"):
        load_sources(path)
    path.write_text(yaml.safe_dump({"sources": {"maven_crm": {"enabled": False}}}))
    with pytest.raises(SourcesConfigError, match="disabled"):
        section(path, "maven_crm")


def test_cli_import_commands(tmp_path, monkeypatch):
    from orchestration.cli import main

    runner = CliRunner()
    landing = tmp_path / "landing"
    result = runner.invoke(
        main,
        [
            "import",
            "survey-export",
            str(FIXTURES / "surveys" / "wjx_export_cs_2026q1.csv"),
            "--survey-config",
            str(FIXTURES / "surveys" / "cs_2026q1.yml"),
            "--landing",
            str(landing),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "surveys/responses 9" in result.output
    assert list((landing / "surveys" / "responses").glob("*.csv"))

    monkeypatch.delenv("SPM_ORDERS_DB_DSN", raising=False)
    result = runner.invoke(main, ["import", "orders-db", "--config", str(EXAMPLE), "--landing", str(landing)])
    assert result.exit_code == 1
    assert "SPM_ORDERS_DB_DSN" in result.output

    result = runner.invoke(
        main, ["import", "crm-api", "--config", str(tmp_path / "none.yml"), "--landing", str(landing)]
    )
    assert result.exit_code == 1 and "not found" in result.output
