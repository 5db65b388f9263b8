"""Errors that point at the file, row and column of bad input."""

from dataclasses import dataclass


@dataclass(frozen=True)
class DataIssue:
    """One broken rule in one place. `row` is the 1-based line number in the file (header = 1)."""

    file: str
    rule: str
    row: int | None = None
    column: str | None = None
    detail: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        text = f"{where}: {self.rule}"
        return f"{text} ({self.detail})" if self.detail else text


class DataValidationError(ValueError):
    """Raised with every issue found, so a user fixes them all in one pass."""

    def __init__(self, issues: list[DataIssue]):
        self.issues = list(issues)
        lines = [str(issue) for issue in self.issues]
        super().__init__(
            f"{len(lines)} data problem(s):\n  " + "\n  ".join(lines)
        )
