"""Logging of the worker: text or JSON lines, with the article id on records about an article.

The agents put the id(s) of the article(s) they are working on in a context
variable (``about(...)``); ``ArticleFilter`` copies it onto every log record
made meanwhile, from any module, so no call site has to pass it. asyncio gives
each agent its own task and so its own context: agents never see each
other's ids.

Faust sets logging up itself when its worker starts; ``logging_config()`` is
the ``dictConfig`` handed to ``faust.Worker(logging_config=...)``.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = ["ArticleFilter", "JsonFormatter", "TextFormatter", "about", "current_articles", "logging_config"]

_articles: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("wirewatch_articles", default=())

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "article_id", "article_ids", "taskName"}
)


def _text(value: bytes | str | None) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


@contextmanager
def about(ids: str | bytes | Iterable[str | bytes | None] | None) -> Iterator[None]:
    """Within the block, log records carry these article id(s)."""
    if ids is None or isinstance(ids, str | bytes):
        ids = [ids]
    clean = tuple(dict.fromkeys(t for t in (_text(i) for i in ids) if t))  # unique, in order
    token = _articles.set(clean)
    try:
        yield
    finally:
        _articles.reset(token)


def current_articles() -> tuple[str, ...]:
    return _articles.get()


class ArticleFilter(logging.Filter):
    """Adds ``article_id`` (one article) or ``article_ids`` (a batch) to each record; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = _articles.get()
        if not hasattr(record, "article_id"):
            record.article_id = ids[0] if len(ids) == 1 else None
        if not hasattr(record, "article_ids"):
            record.article_ids = list(ids) if len(ids) > 1 else None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, article id(s), extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        article_id = getattr(record, "article_id", None)
        article_ids = getattr(record, "article_ids", None)
        if article_id:
            out["article_id"] = article_id
        if article_ids:
            out["article_ids"] = article_ids
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in out:
                out[key] = value
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack_info"] = self.formatStack(record.stack_info)
        return orjson.dumps(out, default=repr).decode("utf-8")


class TextFormatter(logging.Formatter):
    """Faust's usual line, with ``article=<id>`` appended when the record is about an article."""

    def __init__(self) -> None:
        super().__init__("[%(asctime)s] [%(process)s] [%(levelname)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        article_id = getattr(record, "article_id", None)
        article_ids = getattr(record, "article_ids", None)
        if article_id:
            return f"{line}  article={article_id}"
        if article_ids:
            return f"{line}  articles={','.join(article_ids)}"
        return line


def logging_config(level: str, as_json: bool) -> dict[str, Any]:
    """``dictConfig`` for the worker: one handler on stderr, the article filter, text or JSON."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"article": {"()": ArticleFilter}},
        "formatters": {
            "json": {"()": JsonFormatter},
            "text": {"()": TextFormatter},
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "level": level.upper(),
                "filters": ["article"],
                "formatter": "json" if as_json else "text",
            }
        },
        "root": {"level": level.upper(), "handlers": ["default"]},
    }
