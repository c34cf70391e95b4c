"""Input fingerprints: a hash per raw table of the files an ingest read, recorded in each raw-store batch.

An input whose fingerprint equals the latest batch's (same tables, same file names and bytes, same ingest rules)
would add nothing to the store, so ingest recognises it without validating or diffing it again
(docs/decisions.md, "An unchanged snapshot is recognised by its fingerprint"). The rules are part of the hash:
the raw-table contract (spendsense.schema) and the text of every ingest SQL file, so a changed check or load
query makes every earlier fingerprint stale.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from spendsense.ingest.readers import Source
from spendsense.schema import TABLE_ORDER, column_names

VERSION = "1"  # bump when the ingest's Python (not its SQL or the contract) changes what a batch holds
JSON_KEY = "plaid_json"  # Plaid responses feed several tables at once: their files hash under one key


@cache
def rules_digest() -> str:
    """sha256 of what decides a batch's content besides the input: the contract and the ingest SQL files."""
    h = hashlib.sha256(f"fingerprint {VERSION}\0".encode())
    h.update(repr([(t, column_names(t)) for t in TABLE_ORDER]).encode())
    for path in sorted(Path(__file__).parent.glob("*.sql")):
        h.update(f"\0{path.name}\0".encode() + path.read_bytes())
    return h.hexdigest()


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, read in chunks."""
    with Path(path).open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def input_fingerprint(sources: Iterable[Source]) -> dict[str, str]:
    """Per table (Plaid JSON under 'plaid_json'): sha256 of the rules and each file's format, name and bytes, in
    the order ingest reads them (a later JSON file wins, and a JSON file's name can name its user)."""
    rules = rules_digest()
    groups: dict[str, hashlib._Hash] = {}
    for source in sources:
        key = JSON_KEY if source.fmt == "json" else str(source.table)
        h = groups.setdefault(key, hashlib.sha256(rules.encode()))
        h.update(f"\0{source.fmt}\0{source.path.name}\0{file_digest(source.path)}".encode())
    return {key: h.hexdigest() for key, h in sorted(groups.items())}
