"""The transactions table from the ledger: ordered, with stable ids and the catalog's text columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from spendsense.generate.accounts import AccountPlan
from spendsense.generate.calendar import Calendar
from spendsense.generate.catalog import Catalog
from spendsense.generate.frames import dates, dictionary, id_width, padded, to_frame
from spendsense.generate.ledger import NULL_AUTH_KINDS, PENDING_KINDS, Kind, kind_flags

LAGGED_KINDS = (*PENDING_KINDS, Kind.FLOOR, Kind.REFUND)


def ledger_order(account_row: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Order by account, then date, then insertion.

    Packs (account, day, position) into one int64 and sorts the keys themselves (a plain sort is ~10x faster
    than argsort on tens of millions of rows); the positions are read back from the low bits.
    """
    n = account_row.size
    seq_bits = max(int(n).bit_length(), 1)
    acc_bits = max(int(account_row.max(initial=0)).bit_length(), 1)
    day_bits = max(int(day.max(initial=0)).bit_length(), 1)
    if seq_bits + acc_bits + day_bits > 63:
        return np.lexsort((np.arange(n), day, account_row))
    key = account_row.astype(np.int64) << (day_bits + seq_bits)
    key |= day.astype(np.int64) << seq_bits
    key |= np.arange(n, dtype=np.int64)
    key.sort()
    key &= (1 << seq_bits) - 1
    return key


def transactions_table(
    ledger: dict[str, np.ndarray],
    accounts: AccountPlan,
    account_ids: pa.Array,
    catalog: Catalog,
    cal: Calendar,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The transactions table; consumes the ledger's arrays (replaced by sorted copies, then freed)."""
    account_row = accounts.index[ledger["user"], ledger["slot"]]
    if (account_row < 0).any():
        raise AssertionError("generator bug: a transaction on an account the user does not hold")
    order = ledger_order(account_row, ledger["day"])
    account_row = account_row[order].astype(np.int32)
    for key in list(ledger):
        ledger[key] = ledger.pop(key)[order] if key in ("day", "desc", "kind", "pending", "cents") else None
    del order
    day, desc, kind, pending = ledger["day"], ledger["desc"], ledger["kind"], ledger["pending"]
    n = day.size
    # authorized a day or two before posting for card and debit purchases; null for interest, fees and pay
    lag = np.array([0] * 10 + [1] * 7 + [2] * 3, dtype=np.int32)[rng.integers(0, 20, n, dtype=np.int8)]
    lag[~kind_flags(LAGGED_KINDS)[kind] | pending] = 0
    np.minimum(lag, day, out=lag)
    has_auth = ~kind_flags(NULL_AUTH_KINDS)[kind]
    columns = {
        "transaction_id": padded("t", np.arange(1, n + 1), id_width(n, "t")),
        "account_id": pa.DictionaryArray.from_arrays(pa.array(account_row), account_ids),
        "date": dates(cal.epoch_day0, day),
        "authorized_date": dates(cal.epoch_day0, day - lag, valid=has_auth),
        "amount": ledger.pop("cents") / 100.0,
        "iso_currency_code": dictionary(["USD"], np.zeros(n, dtype=np.int8)),
        "name": dictionary(catalog.name, desc),
        "merchant_name": dictionary(catalog.merchant_name, desc),
        "merchant_entity_id": dictionary(catalog.merchant_entity_id, desc),
        "payment_channel": dictionary(catalog.payment_channel, desc),
        "pfc_primary": dictionary(catalog.pfc_primary, desc),
        "pfc_detailed": dictionary(catalog.pfc_detailed, desc),
        "pfc_confidence_level": dictionary(catalog.confidence, desc),
        "pending": pending,
    }
    del lag, has_auth, account_row
    ledger.clear()
    return to_frame("transactions", columns)
