"""The one error of the alerts package."""

from __future__ import annotations

from pathlib import Path

__all__ = ["RuleFileError"]


class RuleFileError(ValueError):
    """A rule file is missing, unreadable, or breaks its schema or its references.

    The message names the file and the offending field as a JSON path
    (``patterns/3/near/terms/1``) so the data can be fixed without reading code.
    """

    def __init__(self, file: Path | str, field: str | None, problem: str) -> None:
        self.file = Path(file)
        self.field = field
        self.problem = problem
        where = f"{self.file}: {field}" if field else str(self.file)
        super().__init__(f"{where}: {problem}")
