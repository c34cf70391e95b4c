"""Per-user JSON is shaped like Plaid's /transactions/get and /liabilities/get responses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent / "plaid_examples"  # Plaid's OpenAPI example responses (see README there)


def _example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


def _keys(obj: dict) -> set[str]:
    return set(obj)


def _assert_same_shape(ours, theirs, where: str, extra: frozenset = frozenset()) -> None:
    """Same keys (recursively into objects and the first element of lists)."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), where
        assert _keys(ours) - extra == _keys(theirs), (where, _keys(ours) ^ _keys(theirs))
        for key, value in theirs.items():
            if value is not None and ours.get(key) is not None:
                _assert_same_shape(ours[key], value, f"{where}.{key}")
    elif isinstance(theirs, list) and theirs and isinstance(theirs[0], dict):
        assert isinstance(ours, list), where
        for item in ours[:3]:
            _assert_same_shape(item, theirs[0], f"{where}[]")


@pytest.fixture(scope="module")
def documents(written):
    folder = written / "json"
    return {path.name: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def test_two_documents_per_user(written, small_run, documents):
    users = small_run.tables["users"]["user_id"]
    assert set(documents) == {f"{u}.{kind}.json" for u in users for kind in ("transactions", "liabilities")}


def test_transactions_response_shape(documents):
    example = _example("transactions_get_response.json")
    doc = documents["u00001.transactions.json"]
    assert _keys(doc) == _keys(example)
    _assert_same_shape(doc["item"], example["item"], "item")
    for account in doc["accounts"]:
        _assert_same_shape(
            account, example["accounts"][0], "accounts[]", extra=frozenset({"holder_category"})
        )
    for tx in doc["transactions"]:
        _assert_same_shape(tx, example["transactions"][0], "transactions[]")
    with_merchant = next(t for t in doc["transactions"] if t["merchant_name"])
    _assert_same_shape(
        with_merchant["counterparties"][0],
        {k: v for k, v in example["transactions"][0]["counterparties"][0].items()},
        "counterparties",
    )
    assert doc["item"]["item_id"] == "u00001"
    assert doc["total_transactions"] == len(doc["transactions"])


def test_liabilities_response_shape(documents):
    example = _example("liabilities_get_response.json")
    docs = [d for name, d in documents.items() if name.endswith(".liabilities.json")]
    assert all(_keys(d) == _keys(example) for d in docs)
    assert all(_keys(d["liabilities"]) == {"credit", "mortgage", "student"} for d in docs)
    seen = {"credit": 0, "mortgage": 0, "student": 0}
    for doc in docs:
        for kind in seen:
            for entry in doc["liabilities"][kind]:
                _assert_same_shape(entry, example["liabilities"][kind][0], f"liabilities.{kind}[]")
                seen[kind] += 1
    assert all(seen.values()), seen


def test_json_agrees_with_tables(small_run, documents):
    tables = small_run.tables
    tx = tables["transactions"].copy()
    tx["account_id"] = tx["account_id"].astype(str)
    accounts = tables["accounts"]
    user_of = accounts.set_index("account_id")["user_id"]
    counts = tx["account_id"].map(user_of).value_counts()
    for user_id, n in counts.items():
        doc = documents[f"{user_id}.transactions.json"]
        assert doc["total_transactions"] == n
    doc = documents["u00002.transactions.json"]
    by_id = tx.set_index("transaction_id")
    for t in doc["transactions"][:50]:
        row = by_id.loc[t["transaction_id"]]
        assert t["amount"] == pytest.approx(row["amount"])
        assert t["date"] == str(row["date"])
        assert t["personal_finance_category"]["detailed"] == row["pfc_detailed"]
        assert t["pending"] == bool(row["pending"])
    dates = [t["date"] for t in doc["transactions"]]
    assert dates == sorted(dates, reverse=True)  # newest first, as Plaid returns them
    for account in doc["accounts"]:
        row = accounts.set_index("account_id").loc[account["account_id"]]
        assert account["balances"]["current"] == pytest.approx(row["balance_current"])


def test_sign_convention_in_json(documents):
    pay, purchases, card_in, card_out = [], [], [], []
    for name, doc in documents.items():
        if not name.endswith(".transactions.json"):
            continue
        types = {a["account_id"]: a["type"] for a in doc["accounts"]}
        for t in doc["transactions"]:
            detailed = t["personal_finance_category"]["detailed"]
            if detailed == "INCOME_WAGES":
                pay.append(t["amount"])
            elif detailed == "FOOD_AND_DRINK_GROCERIES":
                purchases.append(t["amount"])
            elif detailed == "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT":
                (card_in if types[t["account_id"]] == "credit" else card_out).append(t["amount"])
    assert pay and all(a < 0 for a in pay)  # money in: negative
    assert purchases and all(a > 0 for a in purchases)  # money out: positive
    assert card_in and all(a < 0 for a in card_in)
    assert card_out and all(a > 0 for a in card_out)
