"""The worker consumer's fetch wait (workers/fetching.py): ours, per app, instead of Faust's 1.5 s."""

from __future__ import annotations

from typing import Any

import faust
import pytest

from workers.app import create_app
from workers.settings import Settings


def worker_consumer(app: faust.App) -> Any:
    """The aiokafka consumer Faust would start for ``app`` (built, not started: no broker needed)."""
    return app.consumer._thread._create_worker_consumer(app.transport)  # type: ignore[attr-defined]


async def test_the_worker_consumer_holds_fetches_for_the_configured_time() -> None:
    default = create_app(Settings(store="memory://", web_enabled=False, app_id="wirewatch-unit-fetch-a"))
    shorter = create_app(
        Settings(store="memory://", web_enabled=False, app_id="wirewatch-unit-fetch-b", fetch_max_wait=0.05)
    )
    assert worker_consumer(default.app)._fetch_max_wait_ms == 200
    assert worker_consumer(shorter.app)._fetch_max_wait_ms == 50


async def test_an_app_of_faust_alone_keeps_faust_s_wait() -> None:
    """The patch touches only the apps it was given (and shows what Faust itself asks for)."""
    create_app(Settings(store="memory://", web_enabled=False, app_id="wirewatch-unit-fetch-c"))  # patch installed
    plain = faust.App("wirewatch-unit-fetch-plain", broker="kafka://127.0.0.1:9", store="memory://", web_enabled=False)
    assert worker_consumer(plain)._fetch_max_wait_ms == 1500


def test_a_wait_must_be_positive() -> None:
    with pytest.raises(ValueError, match="fetch_max_wait"):
        Settings(fetch_max_wait=0)
