"""Plaid sandbox custom users turned into a folder of Plaid API responses that `spendsense run -p source` reads.

    python -m spendsense.generate.plaid_sandbox ../shared/plaid/sandbox-custom-users data/plaid/night1 \
        --night2 data/plaid/night2

Plaid's sandbox custom-user configurations (github.com/plaid/sandbox-custom-users, MIT licence) are the input a
sandbox item is created from: override_accounts with their transactions (date_transacted, date_posted, amount,
description) and liability blocks. Each configuration file becomes one item (item_id = the file name without
.json) with the three responses a bank integration stores, /accounts/get, /transactions/get and
/liabilities/get, in `<out>/<item_id>/`, and `<out>/consent_events.csv` grants consent for every item. The
configurations carry no categories: each description gets a personal_finance_category (taxonomy v1) from the
keyword rules below, else GENERAL_MERCHANDISE_OTHER_GENERAL_MERCHANDISE. The business-account configuration
keeps its business holder category, so ingest leaves it out.

`--night2 DIR` also writes the next night's /transactions/sync response (`<item_id>.transactions_sync.json`: a
sync response names no item, so the file name does) for the first personal item with transactions:
two transactions added the day after the last one, the latest transaction's amount modified, the earliest one
removed, and a next_cursor. Everything is deterministic: ids are hashes of the item, account and position.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import re
from pathlib import Path

# description pattern (case-insensitive) -> personal_finance_category detailed code; first match wins
CATEGORY_RULES: tuple[tuple[str, str], ...] = (
    (r"overdraft|courtesy pay|odp", "BANK_FEES_OVERDRAFT_FEES"),
    (r"nsf|insufficient funds", "BANK_FEES_INSUFFICIENT_FUNDS"),
    (r"atm .*fee|atm fee|atm transaction decline", "BANK_FEES_ATM_FEES"),
    (r"international (service|transaction)|visa international", "BANK_FEES_FOREIGN_TRANSACTION_FEES"),
    (r"\bfee\b", "BANK_FEES_OTHER_BANK_FEES"),
    (r"direct dep|payroll|payout from business", "INCOME_WAGES"),
    (r"intrst|interest", "INCOME_INTEREST_EARNED"),
    (r"uber payout|lyft payout", "INCOME_OTHER_INCOME"),
    (r"student loan", "LOAN_PAYMENTS_STUDENT_LOAN_PAYMENT"),
    (r"mortgage", "LOAN_PAYMENTS_MORTGAGE_PAYMENT"),
    (r"auto loan", "LOAN_PAYMENTS_CAR_PAYMENT"),
    (r"credit card|crd autopay|automatic payment|amex|american express|epayment", "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT"),
    (r"\brent\b", "RENT_AND_UTILITIES_RENT"),
    (r"att\*|telephone|verizon", "RENT_AND_UTILITIES_TELEPHONE"),
    (r"netflix|cinemark|hulu", "ENTERTAINMENT_TV_AND_MOVIES"),
    (r"spotify", "ENTERTAINMENT_MUSIC_AND_AUDIO"),
    (r"nintendo", "ENTERTAINMENT_VIDEO_GAMES"),
    (r"draftkings|chumba|casino", "ENTERTAINMENT_CASINOS_AND_GAMBLING"),
    (r"starbucks|dunkin|coffee", "FOOD_AND_DRINK_COFFEE"),
    (r"mcdonald|kfc|burger|chick-fil-a|donu", "FOOD_AND_DRINK_FAST_FOOD"),
    (r"whole foods|frys food|grocery", "FOOD_AND_DRINK_GROCERIES"),
    (r"wine|liquor", "FOOD_AND_DRINK_BEER_WINE_AND_LIQUOR"),
    (r"vend", "FOOD_AND_DRINK_VENDING_MACHINES"),
    (r"uber|lyft", "TRANSPORTATION_TAXIS_AND_RIDE_SHARES"),
    (r"shell|gas station|chevron", "TRANSPORTATION_GAS"),
    (r"bicycle", "TRANSPORTATION_BIKES_AND_SCOOTERS"),
    (r"airlines|american air", "TRAVEL_FLIGHTS"),
    (r"amazon", "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES"),
    (r"h&m", "GENERAL_MERCHANDISE_CLOTHING_AND_ACCESSORIES"),
    (r"transfer (from|into)|send money|instacash|round-up", "TRANSFER_IN_ACCOUNT_TRANSFER"),
    (r"healthcar|hiscox|insurance", "GENERAL_SERVICES_INSURANCE"),
)
DEFAULT_CATEGORY = "GENERAL_MERCHANDISE_OTHER_GENERAL_MERCHANDISE"
BUSINESS_CONFIGS = ("transactions__business_account",)  # configurations of a business's accounts


def _id(*parts: object) -> str:
    """A deterministic Plaid-style id (37 characters) from the given parts."""
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:37]


def category(description: str) -> dict:
    """The personal_finance_category of a sandbox description (keyword rules, else general merchandise)."""
    detailed = next((code for pattern, code in CATEGORY_RULES if re.search(pattern, description, re.IGNORECASE)),
                    DEFAULT_CATEGORY)
    primary = next(p for p in ("BANK_FEES", "INCOME", "LOAN_PAYMENTS", "RENT_AND_UTILITIES", "ENTERTAINMENT",
                               "FOOD_AND_DRINK", "TRANSPORTATION", "TRAVEL", "GENERAL_MERCHANDISE", "TRANSFER_IN",
                               "GENERAL_SERVICES") if detailed.startswith(p + "_"))
    return {"primary": primary, "detailed": detailed, "confidence_level": "LOW"}


def _account(item_id: str, i: int, spec: dict, business: bool) -> dict:
    """One /accounts/get account from an override_accounts entry."""
    meta = spec.get("meta") or {}
    current = spec.get("starting_balance")
    limit = meta.get("limit")
    available = spec.get("force_available_balance", current if spec.get("type") == "depository" else None)
    subtype = spec.get("subtype")
    return {"account_id": _id(item_id, "account", i), "mask": f"{i + 1:04d}",
            "name": meta.get("name") or f"Plaid {(subtype or spec.get('type', 'account')).title()}",
            "official_name": meta.get("official_name"), "type": spec.get("type"), "subtype": subtype,
            "balances": {"available": available, "current": current, "limit": limit, "iso_currency_code": "USD"},
            **({"holder_category": "business"} if business else {})}


def _transaction(item_id: str, account_id: str, j: int, spec: dict) -> dict:
    """One /transactions/get transaction from a sandbox transaction."""
    description = spec["description"]
    return {"transaction_id": _id(item_id, account_id, "transaction", j), "account_id": account_id,
            "date": spec["date_posted"], "authorized_date": spec.get("date_transacted"),
            "amount": spec["amount"], "iso_currency_code": spec.get("currency", "USD"), "name": description,
            "merchant_name": None, "payment_channel": "other", "pending": False,
            "personal_finance_category": category(description)}


def _liabilities(accounts: list[dict], specs: list[dict]) -> dict:
    """The /liabilities/get `liabilities` object of an item's credit and student-loan accounts."""
    credit, student = [], []
    for account, spec in zip(accounts, specs, strict=True):
        block = spec.get("liability") or {}
        if block.get("type") == "credit":
            aprs = [{"apr_type": kind, "apr_percentage": block[key], "balance_subject_to_apr": None,
                     "interest_charge_amount": None}
                    for kind, key in (("purchase_apr", "purchase_apr"), ("cash_apr", "cash_apr"),
                                      ("balance_transfer_apr", "balance_transfer_apr")) if key in block]
            credit.append({"account_id": account["account_id"], "aprs": aprs, "is_overdue": block.get("is_overdue"),
                           "last_payment_amount": block.get("last_payment_amount"),
                           "minimum_payment_amount": block.get("minimum_payment_amount"),
                           "last_statement_balance": account["balances"]["current"]})
        elif block.get("type") == "student":
            student.append({"account_id": account["account_id"], "loan_name": block.get("loan_name"),
                            "origination_date": block.get("origination_date"),
                            "origination_principal_amount": block.get("principal"),
                            "interest_rate_percentage": block.get("nominal_apr"), "guarantor": block.get("guarantor")})
    return {"credit": credit, "mortgage": [], "student": student}


def item_responses(item_id: str, config: dict) -> dict[str, dict]:
    """The /accounts/get, /transactions/get and /liabilities/get responses of one sandbox configuration."""
    specs = config.get("override_accounts") or []
    accounts = [_account(item_id, i, spec, item_id in BUSINESS_CONFIGS) for i, spec in enumerate(specs)]
    transactions = [_transaction(item_id, account["account_id"], j, t)
                    for account, spec in zip(accounts, specs, strict=True)
                    for j, t in enumerate(spec.get("transactions") or [])]
    transactions.sort(key=lambda t: (t["date"], t["transaction_id"]), reverse=True)  # Plaid: newest first
    item = {"item_id": item_id}
    return {
        "accounts_get": {"accounts": accounts, "item": item, "request_id": _id(item_id, "accounts")},
        "transactions_get": {"accounts": accounts, "transactions": transactions, "item": item,
                             "total_transactions": len(transactions), "request_id": _id(item_id, "transactions")},
        "liabilities_get": {"accounts": accounts, "liabilities": _liabilities(accounts, specs), "item": item,
                            "request_id": _id(item_id, "liabilities")},
    }


def sync_delta(responses: dict[str, dict]) -> dict:
    """The next night's /transactions/sync response of an item: two added, the latest modified, the earliest
    removed (and the item's accounts, as Plaid returns them)."""
    get = responses["transactions_get"]
    txs = sorted(get["transactions"], key=lambda t: (t["date"], t["transaction_id"]))
    latest, earliest = txs[-1], txs[0]
    next_day = (dt.date.fromisoformat(latest["date"]) + dt.timedelta(days=1)).isoformat()
    item_id = get["item"]["item_id"]
    added = [{**latest, "transaction_id": _id(item_id, "night2", k), "date": next_day, "authorized_date": next_day,
              "name": name, "amount": amount, "personal_finance_category": category(name)}
             for k, (name, amount) in enumerate((("Starbucks Coffee", 6.45), ("Netflix.com", 15.49)))]
    modified = [{**latest, "amount": round(latest["amount"] + 10.0, 2)}]
    return {"accounts": get["accounts"], "added": added, "modified": modified,
            "removed": [{"account_id": earliest["account_id"], "transaction_id": earliest["transaction_id"]}],
            "next_cursor": _id(item_id, "cursor", 2), "has_more": False, "request_id": _id(item_id, "sync", 2)}


def _write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def write_sandbox_folder(sandbox_dir: Path | str, out_dir: Path | str, night2_dir: Path | str | None = None,
                         consent_at: str = "2026-08-01T09:00:00") -> dict:
    """Write every configuration's responses and consent_events.csv (and the night-two sync delta); returns
    a summary: items, accounts, transactions, first and last date."""
    out = Path(out_dir)
    items = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(Path(sandbox_dir).glob("*.json"))}
    all_responses = {item_id: item_responses(item_id, config) for item_id, config in items.items()}
    for item_id, responses in all_responses.items():
        for name, payload in responses.items():
            _write_json(out / item_id / f"{name}.json", payload)
    with (out / "consent_events.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["event_id", "user_id", "event", "occurred_at", "source", "actor"])
        writer.writerows([f"consent-{item_id}", item_id, "granted", consent_at, "import", "sandbox example"]
                         for item_id in all_responses)
    dates = sorted(t["date"] for r in all_responses.values() for t in r["transactions_get"]["transactions"])
    summary = {"items": len(all_responses), "transactions": len(dates), "first_date": dates[0] if dates else None,
               "last_date": dates[-1] if dates else None,
               "accounts": sum(len(r["accounts_get"]["accounts"]) for r in all_responses.values())}
    if night2_dir is not None:
        item_id = next(i for i, r in all_responses.items() if r["transactions_get"]["transactions"]
                       and i not in BUSINESS_CONFIGS)
        delta = sync_delta(all_responses[item_id])
        _write_json(Path(night2_dir) / f"{item_id}.transactions_sync.json", delta)  # no `item` in a sync
        # response: ingest takes its user from the accounts it names, else from the name before the first '.'
        summary["night2"] = {"item": item_id, "added": len(delta["added"]), "modified": len(delta["modified"]),
                             "removed": len(delta["removed"]), "last_date": delta["added"][0]["date"]}
    return summary


def main(argv: list[str] | None = None) -> int:
    """Command line: SANDBOX_DIR OUT_DIR [--night2 DIR]."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sandbox_dir", help="folder of Plaid sandbox custom-user .json configurations")
    parser.add_argument("out_dir", help="folder to write the night-one responses and consent_events.csv into")
    parser.add_argument("--night2", metavar="DIR", help="also write the next night's /transactions/sync delta here")
    args = parser.parse_args(argv)
    summary = write_sandbox_folder(args.sandbox_dir, args.out_dir, args.night2)
    print(f"wrote {summary['items']} items ({summary['accounts']} accounts, {summary['transactions']} transactions,"
          f" {summary['first_date']} to {summary['last_date']}) and consent_events.csv to {args.out_dir}")
    if "night2" in summary:
        n2 = summary["night2"]
        print(f"wrote the night-two /transactions/sync delta of {n2['item']} ({n2['added']} added, "
              f"{n2['modified']} modified, {n2['removed']} removed; last date {n2['last_date']}) to {args.night2}")
    print(f"next: spendsense run -p source {args.out_dir} -p as_of {summary['last_date']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
