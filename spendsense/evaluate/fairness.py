"""Fairness: outcome rates by demographic group, demographic parity ratios and the four-fifths rule.

Input is one row per (consenting) user and window with group columns and 0/1 outcome columns. For an
outcome gated by eligibility rules (offers), the rate among eligible users is compared too: a disparity
that disappears once eligibility is accounted for is "explained by eligibility"; one that remains is not.
Groups smaller than the minimum size get a Wilson confidence interval and no verdict. Users whose group is not
known (a Plaid item without a users row, or a missing value) form the group "unknown": its rate and interval are
reported like any group's, but it is never compared (it is not a demographic group), and an attribute known for
nobody gets the verdict "demographics unknown".
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

GROUP_COLUMNS = ("age_band", "gender", "region", "income_tier")
UNKNOWN = "unknown"  # the group of users whose demographic value is not known
PARITY_COLUMNS = ["outcome", "attribute", "groups", "groups_compared", "parity_ratio", "parity_ratio_eligible",
                  "unexplained_ratio", "lowest_group", "highest_group", "verdict"]


def wilson_interval(successes: pd.Series, n: pd.Series, z: float = 1.96) -> tuple[pd.Series, pd.Series]:
    """Wilson score interval for binomial proportions, vectorized; (nan, nan) where n is 0."""
    n_f = n.astype(float)
    p = successes / n_f.where(n_f > 0)
    denom = 1 + z**2 / n_f
    centre = (p + z**2 / (2 * n_f)) / denom
    half = z * np.sqrt(p * (1 - p) / n_f + z**2 / (4 * n_f**2)) / denom
    return (centre - half).clip(lower=0), (centre + half).clip(upper=1)


def group_rates(table: pd.DataFrame, outcome: str, groups=GROUP_COLUMNS, eligible: str | None = None,
                z: float = 1.96) -> pd.DataFrame:
    """Rate of an outcome per group value of every group column, with n, Wilson interval and eligible rate."""
    frames = []
    table = table.assign(**{a: table[a].astype(object).where(table[a].notna(), UNKNOWN) for a in groups})
    for attribute in groups:
        g = table.groupby(attribute, observed=True)
        out = pd.DataFrame({"n": g.size(), "successes": g[outcome].sum()})
        if eligible is not None:
            elig = table[table[eligible].astype(bool)].groupby(attribute, observed=True)
            out["n_eligible"] = elig.size().reindex(out.index).fillna(0).astype(int)
            out["successes_eligible"] = elig[outcome].sum().reindex(out.index).fillna(0)
        out = out.reset_index().rename(columns={attribute: "group"})
        out.insert(0, "attribute", attribute)
        frames.append(out)
    if not frames:
        return pd.DataFrame(columns=["outcome", "attribute", "group", "n", "successes", "rate", "ci_low", "ci_high"])
    rates = pd.concat(frames, ignore_index=True)
    rates.insert(0, "outcome", outcome)
    rates["rate"] = rates["successes"] / rates["n"].where(rates["n"] > 0)
    rates["ci_low"], rates["ci_high"] = wilson_interval(rates["successes"], rates["n"], z)
    if eligible is not None:
        rates["rate_eligible"] = rates["successes_eligible"] / rates["n_eligible"].where(rates["n_eligible"] > 0)
    return rates


def _ratio(rates: pd.Series) -> float:
    """Lowest rate over highest; 1.0 when every rate is 0 (no disparity), nan with fewer than two groups."""
    rates = rates.dropna()
    if len(rates) < 2:
        return math.nan
    hi = rates.max()
    return 1.0 if hi == 0 else float(rates.min() / hi)


def parity_ratios(rates: pd.DataFrame, min_group_size: int = 20, threshold: float = 0.8) -> pd.DataFrame:
    """Demographic parity ratio per (outcome, attribute) over groups large enough, with a verdict.

    verdict: "ok" (ratio >= threshold), "explained by eligibility" (raw ratio below threshold but the ratio
    among eligible users is not), "flag" (unexplained ratio below threshold), "insufficient sample"
    (fewer than two known groups of at least min_group_size users; see the groups' confidence intervals) or
    "demographics unknown" (every user is in the unknown group).
    """
    rows = []
    for (outcome, attribute), part in rates.groupby(["outcome", "attribute"], sort=False):
        big = part[(part["n"] >= min_group_size) & (part["group"] != UNKNOWN)]
        raw = _ratio(big["rate"])
        has_elig = "rate_eligible" in part and part["rate_eligible"].notna().any()
        adjusted = _ratio(big.loc[big["n_eligible"] >= min_group_size, "rate_eligible"]) if has_elig else raw
        unexplained = adjusted if has_elig and not math.isnan(adjusted) else raw
        if (part["group"] == UNKNOWN).all():
            verdict = "demographics unknown"
        elif math.isnan(raw):
            verdict = "insufficient sample"
        elif raw >= threshold:
            verdict = "ok"
        elif has_elig and not math.isnan(adjusted) and adjusted >= threshold:
            verdict = "explained by eligibility"
        else:
            verdict = "flag"
        lowest = big.loc[big["rate"].idxmin(), "group"] if len(big) else None
        highest = big.loc[big["rate"].idxmax(), "group"] if len(big) else None
        rows.append({
            "outcome": outcome, "attribute": attribute, "groups": len(part), "groups_compared": len(big),
            "parity_ratio": raw, "parity_ratio_eligible": adjusted if has_elig else math.nan,
            "unexplained_ratio": unexplained, "lowest_group": lowest, "highest_group": highest,
            "verdict": verdict,
        })
    return pd.DataFrame(rows, columns=PARITY_COLUMNS)
