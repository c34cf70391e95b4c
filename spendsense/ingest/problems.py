"""What ingest reports about bad input: one Problem per finding, and the IngestError that lists them."""

from __future__ import annotations

from dataclasses import dataclass

REPORT_CAP = 50  # problems spelled out in str(IngestError)
KEEP_CAP = 1000  # problems kept as objects on IngestError.problems

ROW_NOTE = ("Rows: CSV 'data row N' counts data rows from 1 (the line after the header is data row 1); "
            "Parquet 'row index N' counts from 0; JSON locations are paths inside the document.")


@dataclass(frozen=True)
class Problem:
    """One finding: the file, the row (CSV: 1-based data row, Parquet: 0-based index, JSON: path), field, reason."""

    file: str
    row: int | str | None
    field: str | None
    reason: str
    fmt: str | None = None  # csv | parquet | json: how `row` is counted

    def location(self) -> str:
        """Where the problem is, e.g. 'data row 5, field amount' or 'transactions[3].amount'."""
        if self.fmt == "json" and self.row is not None:
            return f"{self.row}.{self.field}" if self.field else str(self.row)
        parts = []
        if self.row is not None:
            parts.append(f"data row {self.row}" if self.fmt == "csv" else f"row index {self.row}")
        if self.field:
            parts.append(f"field {self.field}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.location()
        return f"{self.file}: {where}: {self.reason}" if where else f"{self.file}: {self.reason}"


class IngestError(ValueError):
    """Input failed validation; nothing was written. `.problems` lists the findings (up to KEEP_CAP)."""

    def __init__(self, problems: list[Problem], total: int | None = None, summary: list[str] | None = None):
        self.problems = list(problems)
        self.total = total if total is not None else len(self.problems)
        self.summary = list(summary or [])
        super().__init__(self.report())

    def report(self) -> str:
        """The readable report: every problem up to REPORT_CAP, then a count of the rest and a summary."""
        n_files = len({p.file for p in self.problems})
        in_files = f" in {n_files} file{'s' if n_files != 1 else ''}" if n_files else ""
        plural = "s" if self.total != 1 else ""
        lines = [f"ingest rejected the input: {self.total} problem{plural}{in_files}; nothing was written."]
        lines += [f"  - {p}" for p in self.problems[:REPORT_CAP]]
        if self.total > REPORT_CAP:
            lines.append(f"  ... and {self.total - REPORT_CAP} more")
        if self.summary:
            lines.append("Problems by file and field:")
            lines += [f"  {s}" for s in self.summary]
        lines.append(ROW_NOTE)
        return "\n".join(lines)
