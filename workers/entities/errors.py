"""The one error of the entities package."""

from __future__ import annotations

from pathlib import Path

__all__ = ["GazetteerError"]


class GazetteerError(ValueError):
    """A gazetteer data file is missing, unreadable, or breaks its schema.

    The message names the file and the field (a JSON path such as
    ``actors/12/aliases/0``) so the data can be fixed without reading code.
    """

    def __init__(self, file: Path | str, field: str | None, problem: str) -> None:
        self.file = Path(file)
        self.field = field
        self.problem = problem
        where = f"{self.file}: {field}" if field else str(self.file)
        super().__init__(f"{where}: {problem}")
