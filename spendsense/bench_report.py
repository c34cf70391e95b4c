"""The benchmark's report: issue 7's and 17's targets judged against a run, and the run as a Markdown block in
docs/performance.md (one block per size and engine)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

TARGET_USERS = 100_000
# targets on the project's machine kind (2 cores, 24 GB), one row per issue and measure (bench_targets.csv):
# report key, limit, unit, measure, whether it applies only at TARGET_USERS. History: issue 7's, met or reported
# in docs/performance.md; issue 17's are judged now. The default `make run` targets (issue 7: <= 60 s, issue 17:
# <= 30 s) are measured by `spendsense run`, not here.
TARGETS_FILE = Path(__file__).with_name("bench_targets.csv")
JUDGED_ISSUE = "17"


def targets(issue: str = JUDGED_ISSUE) -> list[tuple[str, float, str, str, bool]]:
    """One issue's targets: (report key, limit, unit, measure, applies only at TARGET_USERS)."""
    with TARGETS_FILE.open(encoding="utf-8", newline="") as fh:
        return [(r["key"], _number(r["limit"]), r["unit"], r["measure"], r["at_target_size"] == "true")
                for r in csv.DictReader(fh) if r["issue"] == issue]


DOC_BLOCK = re.compile(r"<!-- bench n=(\d+)(?: engine=(\w+))? -->.*?<!-- /bench -->\n?", re.DOTALL)


def _number(text: str) -> float | int:
    return int(text) if text.isdigit() else float(text)


def target_checks(report: dict) -> list[dict]:
    """Each target of issue 17 with the measured figure and whether it is met (None: not measured in this run)."""
    rows = []
    for key, limit, unit, measure, at_scale in targets():
        value = report.get(key)
        applies = value is not None and (not at_scale or report["n_users"] == TARGET_USERS)
        rows.append({"measure": measure, "target": f"<= {limit} {unit}", "measured": value, "unit": unit,
                     "met": bool(value <= limit) if applies else None})
    return rows


def markdown_table(report: dict) -> str:
    """The run as a Markdown block for docs/performance.md: machine, every stage, the probes and the targets."""
    m = report["machine"]
    engine = report.get("engine", "duckdb")
    tag, flag = ("", "") if engine == "duckdb" else (f" engine={engine}", f" --engine {engine}")
    lines = [f"<!-- bench n={report['n_users']}{tag} -->",
             f"### `spendsense bench --users {report['n_users']}{flag}` ({report['timestamp']})", "",
             (f"Machine: {m['cores']} cores, {m['memory_gb']} GB memory; Python {m['python']}, "
              f"DuckDB {m['duckdb']}, pandas {m['pandas']}; load average at start "
              f"{report.get('load_average', '?')}."), "",
             "| stage | wall | CPU | peak RSS |", "|---|---|---|---|"]
    for r in report["stages"]:
        if r.get("cached"):
            lines.append(f"| {r['stage']} | cached | | |")
        else:
            lines.append(f"| {r['stage']} | {r['seconds']:.1f} s | {r['cpu_seconds']:.1f} s | "
                         f"{r['peak_rss_mb']:,.0f} MiB |")
    lines += ["", (f"All stages after generation: {report['after_generation_seconds']:.1f} s "
                  f"({report['per_user_ms']:.3f} ms per user); a run with the raw store already loaded "
                  f"(raw_views onwards): {report.get('run_seconds', 0):.1f} s wall, "
                  f"{report.get('run_cpu_seconds', 0):.1f} s CPU; with a night's ingest_day: "
                  f"{report.get('nightly_seconds', 0):.1f} s. Floor scan {report['floor_scan_seconds']:.3f} s; "
                  f"signals = {report['signals_over_floor']}x the floor. Single-user recompute p50 "
                  f"{report['single_user_p50_ms']} ms / p95 {report['single_user_p95_ms']} ms; dashboard "
                  f"user-switch data access p50 {report.get('user_switch_p50_ms')} ms / p95 "
                  f"{report.get('user_switch_p95_ms')} ms. " + _browser_sentence(report)), "",
              (f"API `GET /v1/recommendations/{{id}}` over loopback, {report.get('api_clients')} clients, "
               f"{report.get('api_workers')} uvicorn workers: p50 {report.get('api_p50_ms')} ms / p95 "
               f"{report.get('api_p95_ms')} ms, {report.get('api_requests_per_second')} requests/s "
               f"({report.get('api_requests')} requests, statuses {report.get('api_statuses')})."
               if "api_p50_ms" in report else "API: timed with the DuckDB engine only (it reads a published "
               "run the same way whichever engine made it)."), "",
              "| target (issue 17) | limit | measured | met |", "|---|---|---|---|"]
    for t in report["targets"]:
        met = "n/a" if t["met"] is None else ("yes" if t["met"] else "**no**")
        shown = "not measured" if t["measured"] is None else f"{t['measured']} {t['unit']}"
        lines.append(f"| {t['measure']} | {t['target']} | {shown} | {met} |")
    lines.append("<!-- /bench -->")
    return "\n".join(lines) + "\n"


def _browser_sentence(report: dict) -> str:
    """The browser probe's figures in words, or why there are none."""
    if report.get("browser_first_load_p50_ms") is None:
        return f"In the browser: not timed ({report.get('browser_skipped') or 'no figures'})."
    return (f"In the browser: first load p50 {report['browser_first_load_p50_ms']} ms, user switch p50 "
            f"{report.get('browser_user_switch_p50_ms')} ms / p95 {report.get('browser_user_switch_p95_ms')} ms.")


def update_performance_doc(report: dict, doc: Path) -> None:
    """Replace (or add) the block of this run's size in docs/performance.md, under 'Latest benchmark runs'."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n"
    block = markdown_table(report)
    blocks = {(int(b.group(1)), b.group(2) or "duckdb"): b.group(0) for b in DOC_BLOCK.finditer(text)}
    blocks[(report["n_users"], report.get("engine", "duckdb"))] = block
    text = DOC_BLOCK.sub("", text).rstrip("\n")
    heading = "## Latest benchmark runs"
    body = "\n".join(blocks[k] for k in sorted(blocks, key=lambda k: (-k[0], k[1] != "duckdb", k[1])))
    if heading in text:
        head, _, tail = text.partition(heading)
        rest = tail.split("\n## ", 1)
        after = ("\n\n## " + rest[1]) if len(rest) > 1 else ""
        text = f"{head}{heading}\n\nWritten by `make bench` (largest size first; `--fresh` also times generation).\n\n{body}{after}"
    else:
        text = f"{text}\n\n{heading}\n\nWritten by `make bench` (largest size first; `--fresh` also times generation).\n\n{body}"
    doc.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
