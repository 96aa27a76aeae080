"""Salesforce-compatible CRM REST API -> `crm/reps`, `crm/accounts`, `crm/opportunities`,
`crm/activities` landing files.

HTTP mechanics come from dlt's REST client (`dlt.sources.helpers.rest_client`), the
engine of dlt's REST API source: `RESTClient.paginate` follows `nextRecordsUrl` until
`done` (JSONLinkPaginator), extracts `records`, and its session retries 429 and 5xx with
exponential backoff, honouring `Retry-After`. OAuth 2.0 client credentials come from
dlt's `OAuth2ClientCredentials`; an expired or revoked token (401) is refreshed once
and the same request sent again (a requests response hook, as digest auth does).
Only the client mechanics are used, not a dlt pipeline: the output must be contract
CSV files in the landing folders, which dlt's destinations do not write.

Incremental: each object is queried with `WHERE SystemModstamp >= <mark> ORDER BY
SystemModstamp, Id`; records at exactly the mark that were already taken are skipped.
The marks live in a JSON state file beside the landing folder and move only after
every file of the run is written.

Secrets: the client id and secret are read from the environment variables named in
the configuration (default `SPM_CRM_CLIENT_ID`, `SPM_CRM_CLIENT_SECRET`).
"""

from __future__ import annotations

import os

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import OAuth2ClientCredentials
from dlt.sources.helpers.rest_client.paginators import JSONLinkPaginator

from ingestion.connectors import default_state_path
from ingestion.connectors.state import ConnectorState, run_stamp
from ingestion.importers.common import ImportSummary, write_entity

log = logging.getLogger(__name__)
SOURCE = "crmapi"

DEFAULT_ACTIVITY_TYPES = {
    "call": "call",
    "phone call": "call",
    "meeting": "meeting",
    "visit": "visit",
    "customer visit": "visit",
    "site visit": "visit",
    "market feedback": "market_feedback",
    "market_feedback": "market_feedback",
    "event": "event",
    "campaign": "campaign",
    # Salesforce Task types that are no contract activity: skipped and counted.
    "email": None,
    "other": None,
    "to do": None,
}


class CrmApiError(RuntimeError):
    pass


@dataclass
class CrmApiConfig:
    base_url: str
    token_url: str | None = None  # default: <base_url>/services/oauth2/token
    api_version: str = "v59.0"
    client_id_env: str = "SPM_CRM_CLIENT_ID"
    client_secret_env: str = "SPM_CRM_CLIENT_SECRET"
    objects: tuple[str, ...] = ("users", "accounts", "opportunities", "tasks", "events")
    watermark_field: str = "SystemModstamp"
    currency: str = "USD"  # opportunities' currency (single-currency org)
    currency_field: str | None = None  # e.g. CurrencyIsoCode in a multi-currency org
    user_region_field: str | None = None  # a User field holding the region, if any
    activity_types: dict[str, str | None] = field(default_factory=lambda: dict(DEFAULT_ACTIVITY_TYPES))
    max_attempts: int = 5
    backoff_factor: float = 1.0
    max_retry_delay: float = 60.0
    timeout: float = 60.0
    state_path: Path | None = None

    @classmethod
    def from_mapping(cls, data: dict) -> CrmApiConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known - {"enabled", "feeds"})
        if unknown:
            raise CrmApiError(f"crm_api: unknown setting(s) {', '.join(unknown)}")
        values = {k: v for k, v in data.items() if k in known}
        if "objects" in values:
            values["objects"] = tuple(values["objects"])
        if "activity_types" in values:
            values["activity_types"] = {
                **DEFAULT_ACTIVITY_TYPES,
                **{str(k).casefold(): v for k, v in values["activity_types"].items()},
            }
        if values.get("state_path"):
            values["state_path"] = Path(values["state_path"])
        return cls(**values)


class SalesforceClientCredentials(OAuth2ClientCredentials):
    """dlt's client-credentials auth, plus: on 401 fetch a new token and resend once."""

    def __call__(self, request):
        request = super().__call__(request)
        request.register_hook("response", self._reauthenticate_on_401)
        return request

    def _reauthenticate_on_401(self, response, **kwargs):
        if response.status_code != 401 or getattr(response.request, "_spm_reauthenticated", False):
            return response
        log.info("CRM API answered 401 (token expired or revoked): fetching a new token")
        self.token_refreshes = getattr(self, "token_refreshes", 0) + 1
        self.obtain_token()
        _ = response.content
        response.close()
        again = response.request.copy()
        again.headers["Authorization"] = f"Bearer {self.access_token}"
        again._spm_reauthenticated = True
        fresh = self.resend_session.send(again, **kwargs)
        fresh.history.append(response)
        return fresh


@dataclass(frozen=True)
class ObjectSpec:
    name: str
    sobject: str
    entity: str
    fields: tuple[str, ...]
    where: str | None
    mapper: Callable[[pd.DataFrame, CrmApiConfig], tuple[pd.DataFrame, int]]


def _ts(series: pd.Series) -> pd.Series:
    """Salesforce `2026-03-01T08:00:00.000+0000` -> `2026-03-01T08:00:00+00:00`."""
    parsed = pd.to_datetime(series, utc=True, format="ISO8601")
    return parsed.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00").where(parsed.notna(), None)


def _col(frame: pd.DataFrame, name: str | None) -> pd.Series:
    if name and name in frame.columns:
        return frame[name]
    return pd.Series(None, index=frame.index, dtype=object)


def _snake(series: pd.Series) -> pd.Series:
    return (
        series.astype("string")
        .str.strip()
        .str.lower()
        .str.replace(r"[^0-9a-z]+", "_", regex=True)
        .str.strip("_")
    )


def _map_users(frame: pd.DataFrame, cfg: CrmApiConfig) -> tuple[pd.DataFrame, int]:
    title = _col(frame, "Title").fillna("").astype(str).str.casefold()
    department = _col(frame, "Department").fillna("").astype(str).str.casefold()
    role = pd.Series("sales", index=frame.index, dtype=object)
    role[title.str.contains("marketing") | department.str.contains("marketing")] = "marketing"
    role[title.str.contains(r"manager|director|head of|vp\b", regex=True)] = "manager"
    out = pd.DataFrame(
        {
            "rep_id": frame["Id"],
            "rep_name": _col(frame, "Name"),
            "email": _col(frame, "Email"),
            "role": role,
            "team_id": _col(frame, "UserRoleId"),
            "manager_rep_id": _col(frame, "ManagerId"),
            "region": _col(frame, cfg.user_region_field),
            "is_active": _col(frame, "IsActive"),
            "updated_at": _ts(frame[cfg.watermark_field]),
        }
    )
    return out, 0


def _map_accounts(frame: pd.DataFrame, cfg: CrmApiConfig) -> tuple[pd.DataFrame, int]:
    out = pd.DataFrame(
        {
            "account_id": frame["Id"],
            "account_name": _col(frame, "Name"),
            "industry": _col(frame, "Industry"),
            "region": _col(frame, "BillingCountry"),
            "owner_rep_id": _col(frame, "OwnerId"),
            "created_at": _ts(_col(frame, "CreatedDate")),
            "updated_at": _ts(frame[cfg.watermark_field]),
        }
    )
    return out, 0


def _map_opportunities(frame: pd.DataFrame, cfg: CrmApiConfig) -> tuple[pd.DataFrame, int]:
    closed = _col(frame, "IsClosed").fillna(False).astype(bool)
    currency = _col(frame, cfg.currency_field).fillna(cfg.currency)
    out = pd.DataFrame(
        {
            "opportunity_id": frame["Id"],
            "account_id": _col(frame, "AccountId"),
            "owner_rep_id": _col(frame, "OwnerId"),
            "stage": _snake(_col(frame, "StageName")),
            "amount": _col(frame, "Amount"),
            "currency": currency,
            "created_at": _ts(_col(frame, "CreatedDate")),
            # CloseDate of an open deal is only the expected date: not a close date.
            "close_date": _col(frame, "CloseDate").where(closed, None),
            "is_closed": closed,
            "is_won": _col(frame, "IsWon").fillna(False).astype(bool),
            "updated_at": _ts(frame[cfg.watermark_field]),
        }
    )
    return out, 0


def _activity_type(frame: pd.DataFrame, cfg: CrmApiConfig, default: str | None) -> pd.Series:
    raw = _col(frame, "Type").fillna(_col(frame, "TaskSubtype"))
    key = raw.astype("string").str.strip().str.casefold()
    mapped = key.map(lambda k: cfg.activity_types.get(k, k) if isinstance(k, str) else default)
    return mapped.astype(object).where(mapped.notna(), None)


def _map_activities(
    frame: pd.DataFrame, cfg: CrmApiConfig, when: list[str], default_type: str | None
) -> tuple[pd.DataFrame, int]:
    activity_type = _activity_type(frame, cfg, default_type)
    at = pd.Series(None, index=frame.index, dtype=object)
    for name in when:
        column = _col(frame, name)
        # ActivityDate is a plain date (local); the *DateTime / CreatedDate fields are UTC.
        values = column if name == "ActivityDate" else _ts(column)
        at = at.where(at.notna(), values)
    out = pd.DataFrame(
        {
            "activity_id": frame["Id"],
            "rep_id": _col(frame, "OwnerId"),
            "account_id": _col(frame, "AccountId"),
            "activity_type": activity_type,
            "activity_at": at,
        }
    )
    keep = out["activity_type"].notna()
    return out[keep], int((~keep).sum())


OBJECTS: dict[str, ObjectSpec] = {
    spec.name: spec
    for spec in (
        ObjectSpec(
            "users",
            "User",
            "crm/reps",
            ("Id", "Name", "Email", "IsActive", "ManagerId", "UserRoleId", "Title", "Department"),
            "UserType = 'Standard'",
            _map_users,
        ),
        ObjectSpec(
            "accounts",
            "Account",
            "crm/accounts",
            ("Id", "Name", "Industry", "BillingCountry", "OwnerId", "CreatedDate"),
            None,
            _map_accounts,
        ),
        ObjectSpec(
            "opportunities",
            "Opportunity",
            "crm/opportunities",
            (
                "Id",
                "AccountId",
                "OwnerId",
                "StageName",
                "Amount",
                "CloseDate",
                "IsClosed",
                "IsWon",
                "CreatedDate",
            ),
            None,
            _map_opportunities,
        ),
        ObjectSpec(
            "tasks",
            "Task",
            "crm/activities",
            (
                "Id",
                "OwnerId",
                "AccountId",
                "Type",
                "TaskSubtype",
                "Status",
                "ActivityDate",
                "CompletedDateTime",
                "CreatedDate",
            ),
            "Status = 'Completed'",
            lambda f, c: _map_activities(f, c, ["CompletedDateTime", "ActivityDate", "CreatedDate"], None),
        ),
        ObjectSpec(
            "events",
            "Event",
            "crm/activities",
            ("Id", "OwnerId", "AccountId", "Type", "ActivityDateTime", "CreatedDate"),
            None,
            lambda f, c: _map_activities(f, c, ["ActivityDateTime", "CreatedDate"], "meeting"),
        ),
    )
}

_SOQL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def soql_for(spec: ObjectSpec, cfg: CrmApiConfig, mark: str | None) -> str:
    fields = list(spec.fields)
    extra = {
        "users": [cfg.user_region_field],
        "opportunities": [cfg.currency_field],
    }.get(spec.name, [])
    fields += [f for f in extra if f and f not in fields]
    fields.append(cfg.watermark_field)
    where = [spec.where] if spec.where else []
    if mark is not None:
        if not _SOQL_DATETIME.match(mark):
            raise CrmApiError(f"state: watermark {mark!r} is not a SOQL datetime")
        where.append(f"{cfg.watermark_field} >= {mark}")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return (
        f"SELECT {', '.join(fields)} FROM {spec.sobject}{clause} ORDER BY {cfg.watermark_field} ASC, Id ASC"
    )


def _soql_stamp(value: str) -> str:
    """Any ISO timestamp -> SOQL literal `YYYY-MM-DDTHH:MM:SS.fffZ` (UTC)."""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _client(cfg: CrmApiConfig) -> tuple[RESTClient, SalesforceClientCredentials]:
    client_id = os.environ.get(cfg.client_id_env)
    client_secret = os.environ.get(cfg.client_secret_env)
    if not client_id or not client_secret:
        raise CrmApiError(
            f"set the CRM API credentials in the environment: {cfg.client_id_env}, {cfg.client_secret_env}"
        )
    session = Client(
        raise_for_status=False,
        request_timeout=cfg.timeout,
        request_max_attempts=cfg.max_attempts,
        request_backoff_factor=cfg.backoff_factor,
        request_max_retry_delay=cfg.max_retry_delay,
    ).session
    base = cfg.base_url.rstrip("/")
    auth = SalesforceClientCredentials(
        access_token_url=cfg.token_url or f"{base}/services/oauth2/token",
        client_id=client_id,
        client_secret=client_secret,
        session=session,
    )
    auth.resend_session = session
    client = RESTClient(
        base_url=base,
        auth=auth,
        session=session,
        paginator=JSONLinkPaginator(next_url_path="nextRecordsUrl"),
        data_selector="records",
    )
    return client, auth


def fetch_records(client: RESTClient, cfg: CrmApiConfig, soql: str) -> list[dict]:
    records: list[dict] = []
    for page in client.paginate(
        f"/services/data/{cfg.api_version}/query",
        params={"q": soql},
        paginator=JSONLinkPaginator(next_url_path="nextRecordsUrl"),
    ):
        records.extend(page)
    return records


def extract_crm_api(cfg: CrmApiConfig, landing: Path, full_refresh: bool = False) -> ImportSummary:
    """One incremental run: every configured object, one landing file per entity."""
    landing = Path(landing)
    state = ConnectorState.load(cfg.state_path or default_state_path(landing, "crm_api"))
    unknown = [o for o in cfg.objects if o not in OBJECTS]
    if unknown:
        raise CrmApiError(f"unknown object(s) {', '.join(unknown)}; known: {', '.join(OBJECTS)}")
    client, auth = _client(cfg)
    summary = ImportSummary(SOURCE, landing)
    frames: dict[str, list[pd.DataFrame]] = {}
    marks: dict[str, list[tuple[str, str]]] = {}
    fetched: dict[str, int] = {}
    for name in cfg.objects:
        spec = OBJECTS[name]
        mark = None if full_refresh else state.stream(name)
        soql = soql_for(spec, cfg, mark.value if mark else None)
        records = fetch_records(client, cfg, soql)
        fetched[name] = len(records)
        if not records:
            continue
        frame = pd.DataFrame.from_records(records).drop(columns=["attributes"], errors="ignore")
        stamps = frame[cfg.watermark_field].map(_soql_stamp)
        if mark is not None and mark.value is not None:
            seen = (stamps == mark.value) & frame["Id"].isin(mark.keys_at_value)
            frame, stamps = frame[~seen], stamps[~seen]
        marks[name] = list(zip(frame["Id"], stamps, strict=True))
        if frame.empty:
            continue
        mapped, skipped = spec.mapper(frame.reset_index(drop=True), cfg)
        if skipped:
            summary.notes.append(f"{name}: {skipped} record(s) of a type that is no activity")
        frames.setdefault(spec.entity, []).append(mapped)
    stamp = run_stamp()
    for entity, parts in frames.items():
        frame = pd.concat(parts, ignore_index=True)
        written = write_entity(landing, entity, frame, f"{entity.split('/')[1]}_{SOURCE}_{stamp}.csv")
        if written:
            summary.files.append(written[0])
            summary.row_counts[entity] = summary.row_counts.get(entity, 0) + written[1]
    if full_refresh:
        state.streams = {}
    for name, rows in marks.items():
        state.stream(name).advance(rows)
    state.save(
        {
            "fetched": fetched,
            "written": summary.row_counts,
            "token_refreshes": getattr(auth, "token_refreshes", 0),
        }
    )
    summary.notes.append(
        "fetched " + ", ".join(f"{k} {v}" for k, v in fetched.items()) + f"; state {state.path}"
    )
    return summary
