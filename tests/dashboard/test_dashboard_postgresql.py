"""The dashboard's access layer over an operational store on PostgreSQL: the tests that write and read the store
(reviews, consent, audit, the single-user recompute), run again with `opstore_path` a postgresql:// database.
(The review queue's own tests run on both backends in test_review_queue.py.)"""

from __future__ import annotations

import published_fixtures
from test_dashboard_access import (  # noqa: F401 - collected here again, with this module's opstore_path
    test_consent_revoke_hides_the_preview_and_is_audited,
    test_only_admin_may_grant_consent,
    test_preview_shows_only_approved_and_holds_back_doubted_items,
    test_recompute_runs_the_engine_for_consenting_users_only,
    test_review_recording_is_append_only_and_latest_wins,
)

opstore_path = published_fixtures.opstore_path_postgresql  # the store of these tests: PostgreSQL
