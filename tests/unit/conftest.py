"""Unit-test fixtures: the loaded pipeline (once per session) and Faust apps under test_context()."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from unittest.mock import AsyncMock

import pytest

from workers.app import WirewatchApp, create_app
from workers.pipeline import Pipeline
from workers.settings import Settings


@pytest.fixture(scope="session")
def pipeline() -> Pipeline:
    """spaCy pipelines, gazetteers and rules, loaded once for every test that needs them."""
    return Pipeline(Settings(), load_models=True)


@pytest.fixture
def app_under_test(pipeline: Pipeline) -> Callable[[str], WirewatchApp]:
    """A factory of apps for ``agent.test_context()``: memory store, one AsyncMock per topic's send."""

    def make(app_id: str) -> WirewatchApp:
        # spaCy in a thread of the test's process: the pipeline above, loaded once
        settings = Settings(store="memory://", web_enabled=False, app_id=app_id, nlp_process=False)
        ww = create_app(settings, pipeline=pipeline)
        ww.app.finalize()
        ww.app.conf.store = "memory://"
        ww.app.flow_control.resume()
        ww.models_ready.set()
        for topic in ww.topics.values():
            topic.send = AsyncMock()  # type: ignore[method-assign]
        return ww

    return make


@pytest.fixture
def wait_until() -> Callable[..., Awaitable[None]]:
    """``await wait_until(condition)``: poll until true (enrich runs in a thread, after ``put`` returned)."""

    async def wait(condition: Callable[[], object], timeout: float = 30.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            assert loop.time() < deadline, "timed out waiting for the agent"
            await asyncio.sleep(0.02)

    return wait
