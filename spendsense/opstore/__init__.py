"""The operational store: consent events, operator reviews, the audit log and delivery history.

State that people change while the pipeline runs lives here, apart from the analytical DuckDB files: an SQLite
database in WAL mode (many readers, one writer at a time, writers queue up for up to 30 s) whose tables are
append-only (triggers abort UPDATE and DELETE). Current state is always derived from the latest event.

Every write function runs one short `BEGIN IMMEDIATE` transaction of its own, so several processes (dashboard
kernels, a pipeline run, ingest) can write at once without losing anything. Timestamps are stored as ISO-8601 UTC
text with microseconds; the read functions return them as naive UTC pandas timestamps (like the warehouse).

A postgresql:// location opens the same store on PostgreSQL (spendsense.opstore_pg): the same functions and SQL
texts (`query` picks a `<name>__postgresql` section where the dialects differ), writes serialized by an advisory
lock instead of BEGIN IMMEDIATE, triggers rejecting UPDATE, DELETE and TRUNCATE.

The functions live in four modules by concern (connection, consent_log, review_log, delivery_log); this package
is their one import: `from spendsense import opstore; opstore.connect(...)`.
"""

import sqlite3  # noqa: F401 - callers catch opstore.sqlite3.OperationalError

from spendsense.opstore.connection import (  # noqa: F401
    BUSY_TIMEOUT_S,
    QUERIES,
    SCHEMA_VERSION,
    _insert_audit,
    _now,
    _required_text,
    _utc_text,
    _write,
    audit_log,
    connect,
    frame,
    is_postgresql,
    query,
    record_audit,
    retry_locked,
    utc_text,
)
from spendsense.opstore.consent_log import (  # noqa: F401
    CONSENT_COLUMNS,
    CONSENT_EVENTS,
    FutureConsentError,
    consent_changed_since,
    consent_events,
    consent_reasons,
    consent_status,
    consent_watermark,
    consenting_user_ids,
    import_consent_events,
    record_consent,
    record_consents,
)
from spendsense.opstore.delivery_log import (  # noqa: F401
    DELIVERY_COLUMNS,
    DELIVERY_FIELDS,
    deliveries,
    delivery_ids,
    has_deliveries,
    record_deliveries,
)
from spendsense.opstore.review_log import (  # noqa: F401
    NO_REVIEW,
    REASON_REQUIRED,
    REVIEW_ACTIONS,
    StaleDecision,
    latest_review,
    record_review,
    reviews,
)
