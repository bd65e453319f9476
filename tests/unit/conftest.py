"""Unit-test fixtures: the loaded pipeline (once per session) and Faust apps under test_context()."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from unittest.mock import AsyncMock

import pytest

from workers.app import WirewatchApp, create_app
from workers.pipeline import Pipeline
from workers.settings import Settings


@pytest.fixture(scope="session")
def pipeline() -> Pipeline:
    """spaCy pipelines, gazetteers and rules, loaded once for every test that needs them."""
    return Pipeline(Settings(), load_models=True)


def app_for_test_context(settings: Settings, pipeline: Pipeline) -> WirewatchApp:
    """An app for ``agent.test_context()``: memory store, models ready, one AsyncMock per topic's send."""
    ww = create_app(settings, pipeline=pipeline)
    ww.app.finalize()
    ww.app.flow_control.resume()
    ww.models_ready.set()
    for topic in ww.topics.values():
        topic.send = AsyncMock(side_effect=delivered)  # type: ignore[method-assign]
    return ww


def delivered(**_: Any) -> asyncio.Future[None]:
    """What a topic's send returns: the future of the broker's answer, here already there."""
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future


@pytest.fixture
def app_under_test(pipeline: Pipeline) -> Callable[[str], WirewatchApp]:
    """A factory of apps for ``agent.test_context()`` (``app_for_test_context``) with the loaded pipeline."""

    def make(app_id: str) -> WirewatchApp:
        # spaCy in a thread of the test's process: the pipeline above, loaded once
        settings = Settings(store="memory://", web_enabled=False, app_id=app_id, nlp_process=False)
        return app_for_test_context(settings, pipeline)

    return make


@pytest.fixture
def light_app_under_test() -> Callable[..., WirewatchApp]:
    """Like ``app_under_test`` without spaCy (a pipeline with no models); keyword arguments go to Settings."""

    def make(app_id: str, **overrides: Any) -> WirewatchApp:
        settings = Settings(store="memory://", web_enabled=False, app_id=app_id, nlp_process=False, **overrides)
        return app_for_test_context(settings, Pipeline(settings, load_models=False))

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
