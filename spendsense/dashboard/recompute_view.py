"""'Recompute this user' shown as a diff against the published recommendations: added, removed, changed score."""

from __future__ import annotations

import pandas as pd

from spendsense.dashboard.render import esc, fmt_number, heading, table

KEY = ["window_days", "item_id"]
SCORE_TOLERANCE = 5e-4  # scores are shown to three decimals; smaller moves are "unchanged"
CHANGE_ORDER = {"added": 0, "removed": 1, "score changed": 2, "rank changed": 3, "unchanged": 4}


def recompute_diff(published: pd.DataFrame, recomputed: pd.DataFrame) -> pd.DataFrame:
    """One row per (window, item) in either set: change, title, score and rank before and after.

    change is 'added' (only recomputed), 'removed' (only published), 'score changed' (|delta| >= 0.0005),
    'rank changed' or 'unchanged'. Sorted by change, then window and rank.
    """
    cols = KEY + ["title", "score", "rank"]

    def side(frame: pd.DataFrame) -> pd.DataFrame:
        if frame is None or not len(frame):
            return pd.DataFrame(columns=cols)
        frame = frame.copy()
        if "title" not in frame:
            frame["title"] = None
        return frame[cols].astype({"window_days": "int64"})

    merged = side(published).merge(side(recomputed), on=KEY, how="outer", suffixes=("_published", "_now"),
                                   indicator=True)
    delta = merged["score_now"].astype(float) - merged["score_published"].astype(float)
    merged["score_delta"] = delta
    merged["change"] = "unchanged"
    merged.loc[delta.abs() >= SCORE_TOLERANCE, "change"] = "score changed"
    same_score = merged["change"] == "unchanged"
    moved = merged["rank_now"].astype(float) != merged["rank_published"].astype(float)
    merged.loc[same_score & moved, "change"] = "rank changed"
    merged.loc[merged["_merge"] == "right_only", "change"] = "added"
    merged.loc[merged["_merge"] == "left_only", "change"] = "removed"
    merged["title"] = merged["title_now"].where(merged["title_now"].notna(), merged["title_published"])
    merged["order"] = merged["change"].map(CHANGE_ORDER)
    merged["rank_sort"] = merged["rank_now"].where(merged["rank_now"].notna(), merged["rank_published"])
    out = merged.sort_values(["order", "window_days", "rank_sort", "item_id"]).reset_index(drop=True)
    return out[["change", "window_days", "item_id", "title", "score_published", "score_now", "score_delta",
                "rank_published", "rank_now"]]


def diff_summary(diff: pd.DataFrame) -> str:
    """'2 added, 1 removed, 3 score changed, 8 unchanged' (only the kinds present)."""
    counts = diff["change"].value_counts()
    parts = [f"{int(counts[c])} {c}" for c in CHANGE_ORDER if c in counts]
    return ", ".join(parts) if parts else "no recommendations in either"


def recompute_html(result: dict, published: pd.DataFrame, seconds: float) -> str:
    """The recompute's status, the diff against the published recommendations, and the other tables folded."""
    diff = recompute_diff(published, result.get("recommendations"))
    fmt = {"score_published": lambda v: fmt_number(v, 3), "score_now": lambda v: fmt_number(v, 3),
           "score_delta": lambda v: "" if pd.isna(v) else f"{v:+.3f}", "rank_published": fmt_number,
           "rank_now": fmt_number, "window_days": lambda v: f"{int(v)} days"}
    cols = [("change", "Change"), ("window_days", "Window"), ("item_id", "Item"), ("title", "Title"),
            ("score_published", "Published score"), ("score_now", "Score now"), ("score_delta", "Δ"),
            ("rank_published", "Published rank"), ("rank_now", "Rank now")]
    parts = [heading(f"Recomputed now in {seconds * 1000:.0f} ms (not published)", 2)]
    status = result.get("status")
    if status:
        parts.append(f'<div class="ss-muted">{esc(status)}</div>')
    parts.append(f'<div class="ss-recompute-summary"><b>Compared with the published run:</b> '
                 f'{esc(diff_summary(diff))}</div>')
    parts.append(table(diff, cols, formatters=fmt, css="ss-recompute-diff", empty="no recommendations"))
    for key, value in result.items():
        if key in ("status", "recommendations") or not isinstance(value, pd.DataFrame) or not len(value):
            continue
        show = value.drop(columns=[c for c in ("trace", "facts", "criteria") if c in value.columns])
        parts.append(f'<details class="ss-fold"><summary>{esc(key.replace("_", " "))} ({len(value)})</summary>'
                     f'{table(show.head(50), css="ss-recompute-table")}</details>')
    return "".join(parts)
