"""Synthetic Plaid-style data: users, accounts, transactions and liabilities with planted behaviours.

Public API:
- `synthetic_tables(n_users, seed, as_of, config=None, progress=False)` -> every raw table of
  spendsense.schema.TABLES (contract columns, order and dtypes) plus "ground_truth".
- `write_dataset(tables, out_dir, formats=("parquet", "csv", "json"))` -> out_dir, written atomically.
- `generate(...)` -> the tables plus the generator's internal facts (opening balances), for tests.
"""

from spendsense.generate.config import GeneratorConfig, load_generator_config
from spendsense.generate.core import GENERATOR_VERSION, Generated, generate, synthetic_tables
from spendsense.generate.writers import write_dataset

__all__ = [
    "GENERATOR_VERSION",
    "Generated",
    "GeneratorConfig",
    "generate",
    "load_generator_config",
    "synthetic_tables",
    "write_dataset",
]
