"""Settings that only make sense together are checked when they are read."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from workers.app import create_app
from workers.pipeline import Pipeline
from workers.settings import Settings


def test_a_session_longer_than_the_request_timeout_is_refused_with_both_names() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(broker_session_timeout=120)  # the request timeout stays at its 90 s default
    message = str(refused.value)
    assert "WIREWATCH_BROKER_SESSION_TIMEOUT (120 s)" in message
    assert "WIREWATCH_BROKER_REQUEST_TIMEOUT (90 s)" in message


def test_the_worker_takes_a_longer_session_with_a_longer_request_timeout() -> None:
    settings = Settings(
        store="memory://",
        web_enabled=False,
        app_id="settings-test",
        broker_session_timeout=600,
        broker_request_timeout=600,
    )
    app = create_app(settings, pipeline=Pipeline(settings, load_models=False)).app  # type: ignore[attr-defined]
    assert app.conf.broker_session_timeout == 600
    assert app.conf.broker_request_timeout == 600
