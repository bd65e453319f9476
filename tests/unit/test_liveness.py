"""/health: a worker stuck in a rebalance (table recovery included) stops answering 200."""

from __future__ import annotations

from workers.app import create_app
from workers.pipeline import Pipeline
from workers.settings import Settings
from workers.web import liveness, rebalancing_seconds


def _app(stall: float) -> object:
    settings = Settings(store="memory://", web_enabled=False, app_id="liveness-test", rebalance_stall_seconds=stall)
    return create_app(settings, pipeline=Pipeline(settings, load_models=False))


def test_healthy_without_a_rebalance() -> None:
    ww = _app(600)
    assert rebalancing_seconds(ww, now=1e6) == 0.0  # type: ignore[arg-type]
    assert liveness(ww, now=1e6) == (200, {"status": "up"})  # type: ignore[arg-type]


def test_a_rebalance_becomes_a_stall_after_the_limit() -> None:
    ww = _app(600)
    ww.rebalance_started = 1000.0  # type: ignore[attr-defined]
    assert liveness(ww, now=1599.0) == (200, {"status": "up"})  # type: ignore[arg-type]
    status, body = liveness(ww, now=1700.0)  # type: ignore[arg-type]
    assert status == 503
    assert body == {"status": "stalled", "rebalancing_seconds": 700, "limit_seconds": 600}


async def test_signals_start_and_end_the_rebalance_clock() -> None:
    ww = _app(600)
    app = ww.app  # type: ignore[attr-defined]
    await app.on_partitions_revoked.send(set())  # faust's signals, as a rebalance sends them
    first = ww.rebalance_started  # type: ignore[attr-defined]
    assert first is not None
    await app.on_partitions_revoked.send(set())  # a second revoke within the same rebalance keeps the start
    assert ww.rebalance_started == first  # type: ignore[attr-defined]
    await app.on_rebalance_complete.send()
    assert ww.rebalance_started is None  # type: ignore[attr-defined]


def test_zero_disables_the_check() -> None:
    ww = _app(0)
    ww.rebalance_started = 0.0  # type: ignore[attr-defined]
    assert liveness(ww, now=1e9)[0] == 200  # type: ignore[arg-type]
