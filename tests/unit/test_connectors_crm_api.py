"""CRM API connector against a local Salesforce-like server (http.server in a thread):
client-credentials token, SOQL query pages with nextRecordsUrl, a 429, a 500, an
expired token, and a second incremental run that fetches only changed records."""

from __future__ import annotations

import copy
import csv
import json
import re
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import duckdb
import pytest

from tests.conftest import FIXTURES

API = "/services/data/v59.0"
CLIENT_ID = "3MVG9-test-client"
CLIENT_SECRET = "s3cr3t-from-env"


def _utc(text: str) -> datetime:
    text = text.replace("+0000", "+00:00").replace("Z", "+00:00")
    return datetime.fromisoformat(text).astimezone(UTC)


class FakeSalesforce:
    """Just enough of Salesforce's REST API: /services/oauth2/token and /query."""

    def __init__(self, records: dict[str, list[dict]], page_size: int = 2):
        self.records = copy.deepcopy(records)
        self.page_size = page_size
        self.valid_tokens: set[str] = set()
        self.tokens_issued = 0
        self.cursors: dict[str, list[dict]] = {}
        self.faults: list[dict] = []  # {"object", "page", "action"}: fired once
        self.log: list[dict] = []
        self.lock = threading.Lock()

    # -- SOQL, the subset the connector sends -------------------------------------
    def run_soql(self, soql: str) -> tuple[str, list[dict]]:
        m = re.fullmatch(
            r"SELECT (?P<fields>.+) FROM (?P<obj>\w+)(?: WHERE (?P<where>.+?))? "
            r"ORDER BY (?P<order>\w+) ASC, Id ASC",
            soql,
        )
        assert m, soql
        fields = [f.strip() for f in m["fields"].split(",")]
        rows = self.records[m["obj"]]
        for cond in (m["where"] or "").split(" AND ") if m["where"] else []:
            eq = re.fullmatch(r"(\w+) = '(.*)'", cond)
            ge = re.fullmatch(r"(\w+) >= (\S+)", cond)
            if eq:
                rows = [r for r in rows if r.get(eq[1]) == eq[2]]
            elif ge:
                rows = [r for r in rows if _utc(r[ge[1]]) >= _utc(ge[2])]
            else:
                raise AssertionError(f"unsupported condition {cond}")
        rows = sorted(rows, key=lambda r: (_utc(r[m["order"]]), r["Id"]))
        out = [{"attributes": r["attributes"], **{f: r.get(f) for f in fields}} for r in rows]
        return m["obj"], out

    def page(self, locator: str, obj: str, rows: list[dict], offset: int) -> dict:
        chunk = rows[offset : offset + self.page_size]
        done = offset + self.page_size >= len(rows)
        body = {"totalSize": len(rows), "done": done, "records": chunk}
        if not done:
            body["nextRecordsUrl"] = f"{API}/query/{locator}-{offset + self.page_size}"
        return body

    def fault_for(self, obj: str, page: int) -> str | None:
        for fault in self.faults:
            if fault["object"] == obj and fault["page"] == page:
                self.faults.remove(fault)
                return fault["action"]
        return None


def _handler(fake: FakeSalesforce):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output clean
            pass

        def _send(self, status: int, body, headers: dict | None = None):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            with fake.lock:
                fake.log.append({"method": "POST", "path": self.path})
                if self.path != "/services/oauth2/token":
                    return self._send(404, [{"errorCode": "NOT_FOUND"}])
                if (
                    form.get("grant_type") != ["client_credentials"]
                    or form.get("client_id") != [CLIENT_ID]
                    or form.get("client_secret") != [CLIENT_SECRET]
                ):
                    return self._send(400, {"error": "invalid_client"})
                fake.tokens_issued += 1
                token = f"00D5g-token-{fake.tokens_issued}"
                fake.valid_tokens.add(token)
                return self._send(
                    200,
                    {
                        "access_token": token,
                        "instance_url": "http://127.0.0.1",
                        "token_type": "Bearer",
                        "issued_at": "1767225600000",
                    },
                )

        def do_GET(self):
            url = urlparse(self.path)
            with fake.lock:
                entry = {"method": "GET", "path": url.path}
                fake.log.append(entry)
                if url.path == f"{API}/query":
                    soql = parse_qs(url.query)["q"][0]
                    obj, rows = fake.run_soql(soql)
                    locator = f"01g{len(fake.cursors):05d}"
                    fake.cursors[locator] = (obj, rows)
                    offset, page = 0, 1
                    entry["soql"] = soql
                else:
                    m = re.fullmatch(rf"{API}/query/(\w+)-(\d+)", url.path)
                    if not m:
                        entry["status"] = 404
                        return self._send(404, [{"errorCode": "NOT_FOUND"}])
                    locator, offset = m[1], int(m[2])
                    obj, rows = fake.cursors[locator]
                    page = offset // fake.page_size + 1
                entry.update(object=obj, page=page)
                action = fake.fault_for(obj, page)
                if action == "expire":
                    fake.valid_tokens.clear()
                elif action == "429":
                    entry["status"] = 429
                    return self._send(
                        429,
                        [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}],
                        {"Retry-After": "0"},
                    )
                elif action == "500":
                    entry["status"] = 500
                    return self._send(500, [{"errorCode": "UNKNOWN_EXCEPTION"}])
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                if token not in fake.valid_tokens:
                    entry["status"] = 401
                    return self._send(
                        401,
                        [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
                    )
                entry["status"] = 200
                return self._send(200, fake.page(locator, obj, rows, offset))

    return Handler


@pytest.fixture
def fake_crm():
    records = json.loads((FIXTURES / "crm_api" / "records.json").read_text(encoding="utf-8"))
    fake = FakeSalesforce(records)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def crm_config(fake_crm, tmp_path, monkeypatch):
    from ingestion.connectors.crm_api import CrmApiConfig

    monkeypatch.setenv("SPM_CRM_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SPM_CRM_CLIENT_SECRET", CLIENT_SECRET)
    return CrmApiConfig.from_mapping(
        {
            "base_url": fake_crm.base_url,
            "currency": "CNY",
            "backoff_factor": 0.01,
            "max_retry_delay": 0.1,
            "max_attempts": 4,
            "timeout": 10,
        }
    )


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _files(landing: Path, folder: str) -> list[Path]:
    return sorted((landing / folder).glob("*.csv"))


def test_first_run_survives_429_500_and_token_expiry(fake_crm, crm_config, tmp_path):
    from ingestion.connectors.crm_api import extract_crm_api
    from ingestion.entities import ENTITY_BY_FOLDER

    landing = tmp_path / "landing"
    fake_crm.faults = [
        {"object": "Account", "page": 1, "action": "500"},
        {"object": "Opportunity", "page": 2, "action": "429"},
        {"object": "Opportunity", "page": 3, "action": "expire"},
    ]
    summary = extract_crm_api(crm_config, landing)

    assert summary.row_counts == {
        "crm/reps": 4,  # the integration user is not a standard user
        "crm/accounts": 5,
        "crm/opportunities": 7,
        "crm/activities": 5,  # 2 completed tasks (the e-mail is skipped) + 3 events
    }
    statuses = [(e.get("object"), e.get("page"), e.get("status")) for e in fake_crm.log]
    assert ("Account", 1, 500) in statuses
    assert ("Opportunity", 2, 429) in statuses
    assert ("Opportunity", 3, 401) in statuses
    assert fake_crm.tokens_issued == 2  # one at start, one after the expiry
    assert not fake_crm.faults  # every fault fired
    # Pages: 7 opportunities at 2 a page = 4 pages, each served once with status 200.
    assert [s for s in statuses if s[0] == "Opportunity" and s[2] == 200] == [
        ("Opportunity", p, 200) for p in (1, 2, 3, 4)
    ]

    for folder in summary.row_counts:
        (path,) = _files(landing, folder)
        assert re.fullmatch(rf"{folder.split('/')[1]}_crmapi_\d{{8}}T\d{{12}}Z\.csv", path.name)
        with path.open(encoding="utf-8") as fh:
            assert next(csv.reader(fh)) == list(ENTITY_BY_FOLDER[folder].all_columns)

    reps = {r["rep_id"]: r for r in _rows(_files(landing, "crm/reps")[0])}
    assert reps["0055g00000AbCd1AAF"]["rep_name"] == "李娜"
    assert reps["0055g00000AbCd1AAF"]["role"] == "manager"
    assert reps["0055g00000AbCd4AAF"]["role"] == "marketing"
    assert reps["0055g00000AbCd4AAF"]["is_active"] == "false"
    assert reps["0055g00000AbCd2AAF"]["manager_rep_id"] == "0055g00000AbCd1AAF"
    assert reps["0055g00000AbCd2AAF"]["updated_at"] == "2026-01-05T02:00:00+00:00"

    accounts = {r["account_id"]: r for r in _rows(_files(landing, "crm/accounts")[0])}
    assert accounts["0015g00000Acc01AAB"]["account_name"] == "上海明华贸易有限公司"
    assert accounts["0015g00000Acc02AAB"]["account_name"] == "Acme, Inc."

    opps = {r["opportunity_id"]: r for r in _rows(_files(landing, "crm/opportunities")[0])}
    won = opps["0065g00000Opp01AAA"]
    assert (won["stage"], won["amount"], won["currency"], won["close_date"]) == (
        "closed_won",
        "125000",
        "CNY",
        "2026-01-20",
    )
    assert (won["is_closed"], won["is_won"]) == ("true", "true")
    assert opps["0065g00000Opp02AAA"]["amount"] == "48000.5"
    open_deal = opps["0065g00000Opp03AAA"]
    assert open_deal["stage"] == "proposal_price_quote"
    assert open_deal["close_date"] == ""  # the expected close date of an open deal is no close date
    assert opps["0065g00000Opp04AAA"]["amount"] == ""

    activities = {r["activity_id"]: r for r in _rows(_files(landing, "crm/activities")[0])}
    assert activities["00T5g00000Tsk01EAA"]["activity_type"] == "call"
    assert activities["00T5g00000Tsk01EAA"]["activity_at"] == "2026-01-12T06:30:00+00:00"
    assert activities["00T5g00000Tsk03EAA"]["activity_type"] == "market_feedback"
    assert activities["00T5g00000Tsk03EAA"]["activity_at"] == "2026-01-14"
    assert "00T5g00000Tsk02EAA" not in activities  # an e-mail is no contract activity
    assert "00T5g00000Tsk04EAA" not in activities  # not completed
    assert activities["00U5g00000Evt01EAA"]["activity_type"] == "visit"
    assert activities["00U5g00000Evt02EAA"]["activity_type"] == "meeting"
    assert activities["00U5g00000Evt03EAA"]["activity_type"] == "event"
    assert len(activities) == summary.row_counts["crm/activities"] == 5

    state = json.loads((tmp_path / "_state" / "landing.crm_api.json").read_text())
    assert state["streams"]["opportunities"] == {
        "value": "2026-01-28T08:00:00.000Z",
        "keys_at_value": ["0065g00000Opp06AAA", "0065g00000Opp07AAA"],
    }
    assert state["runs"][-1]["token_refreshes"] == 1


def test_second_run_fetches_only_changed_records(fake_crm, crm_config, tmp_path):
    from ingestion.connectors.crm_api import extract_crm_api

    landing = tmp_path / "landing"
    extract_crm_api(crm_config, landing)
    first_queries = len([e for e in fake_crm.log if e.get("soql")])

    opp3 = next(r for r in fake_crm.records["Opportunity"] if r["Id"] == "0065g00000Opp03AAA")
    opp3.update(
        StageName="Closed Won",
        IsClosed=True,
        IsWon=True,
        CloseDate="2026-02-10",
        SystemModstamp="2026-02-10T08:00:00.000+0000",
    )
    fake_crm.records["Opportunity"].append(
        {
            **copy.deepcopy(opp3),
            "Id": "0065g00000Opp08AAA",
            "StageName": "Prospecting",
            "IsClosed": False,
            "IsWon": False,
            "Amount": 5000.0,
            "SystemModstamp": "2026-02-11T08:00:00.000+0000",
        }
    )
    acc3 = next(r for r in fake_crm.records["Account"] if r["Id"] == "0015g00000Acc03AAB")
    acc3.update(Industry="Logistics", SystemModstamp="2026-02-01T00:00:00.000+0000")

    summary = extract_crm_api(crm_config, landing)
    assert summary.row_counts == {"crm/accounts": 1, "crm/opportunities": 2}
    soqls = [e["soql"] for e in fake_crm.log if e.get("soql")][first_queries:]
    assert (
        "SELECT Id, AccountId, OwnerId, StageName, Amount, CloseDate, IsClosed, IsWon, "
        "CreatedDate, SystemModstamp FROM Opportunity WHERE SystemModstamp >= "
        "2026-01-28T08:00:00.000Z ORDER BY SystemModstamp ASC, Id ASC"
    ) in soqls
    assert all("SystemModstamp >= " in q for q in soqls)

    newest = _files(landing, "crm/opportunities")[-1]
    rows = {r["opportunity_id"]: r for r in _rows(newest)}
    assert set(rows) == {"0065g00000Opp03AAA", "0065g00000Opp08AAA"}
    assert rows["0065g00000Opp03AAA"]["stage"] == "closed_won"
    assert rows["0065g00000Opp03AAA"]["close_date"] == "2026-02-10"
    assert len(_files(landing, "crm/reps")) == 1  # nothing changed: no new file

    # A third run with nothing changed writes nothing.
    assert extract_crm_api(crm_config, landing).row_counts == {}

    # The loader takes every file as a batch of the contract.
    from ingestion.landing import load_landing

    con = duckdb.connect()
    results = [r for r in load_landing(con, landing) if r.files]
    assert all(f.status == "loaded" and not f.extra_columns for r in results for f in r.files)
    assert con.execute("select count(*) from raw.crm__opportunities").fetchone() == (9,)


def test_full_refresh_and_missing_credentials(fake_crm, crm_config, tmp_path, monkeypatch):
    from ingestion.connectors.crm_api import CrmApiError, extract_crm_api

    landing = tmp_path / "landing"
    extract_crm_api(crm_config, landing)
    again = extract_crm_api(crm_config, landing, full_refresh=True)
    assert again.row_counts["crm/opportunities"] == 7

    monkeypatch.delenv("SPM_CRM_CLIENT_SECRET")
    with pytest.raises(CrmApiError, match="SPM_CRM_CLIENT_SECRET"):
        extract_crm_api(crm_config, landing)


def test_persistent_server_error_fails_without_moving_the_watermark(fake_crm, crm_config, tmp_path):
    from ingestion.connectors.crm_api import extract_crm_api

    landing = tmp_path / "landing"
    fake_crm.faults = [{"object": "Account", "page": 1, "action": "500"} for _ in range(10)]
    with pytest.raises(Exception, match="500"):
        extract_crm_api(crm_config, landing)
    assert not (tmp_path / "_state" / "landing.crm_api.json").exists()
    assert not list(landing.rglob("*.csv"))
    account_attempts = [e for e in fake_crm.log if e.get("object") == "Account"]
    assert len(account_attempts) == crm_config.max_attempts
