"""Health, readiness and metrics pages on the Faust web server.

- ``GET /health``: liveness. 200 while the process serves HTTP, unless a
  rebalance (Faust's table recovery included) has lasted longer than
  ``WIREWATCH_REBALANCE_STALL_SECONDS``: then 503, so a liveness probe restarts
  a worker stuck in recovery (faust-streaming has known recovery hangs).
- ``GET /ready``: 200 when this worker can do its job, else 503; the JSON
  body lists each check and what is missing.
- ``GET /metrics``: Prometheus text format, from the app's own registry.

Readiness checks (all must hold):

``assignment``  the consumer group has handed this worker its partitions
                (a rebalance completed and none is in progress); a worker
                with zero partitions (more workers than partitions) is ready.
``broker``      the consumer knows its group coordinator and holds at least
                one open connection to a broker (aiokafka drops both when the
                broker stops answering). No request is sent: a probe is cheap.
``models``      the spaCy pipelines are loaded (``WirewatchApp.models_ready``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from .app import WirewatchApp

__all__ = ["Readiness", "install_pages", "liveness", "readiness", "rebalancing_seconds"]


@dataclass(frozen=True, slots=True)
class Readiness:
    checks: dict[str, bool]

    @property
    def ready(self) -> bool:
        return all(self.checks.values())

    @property
    def missing(self) -> list[str]:
        return [name for name, ok in self.checks.items() if not ok]

    def to_value(self) -> dict[str, Any]:
        return {"ready": self.ready, "checks": self.checks, "missing": self.missing}


def _broker_reachable(app: Any) -> bool:
    """Coordinator known and a live connection (aiokafka internals, read defensively)."""
    try:
        consumer = app.consumer._thread._consumer
        if consumer is None:
            return False
        if consumer._coordinator is None or consumer._coordinator.coordinator_id is None:
            return False
        return any(conn.connected() for conn in consumer._client._conns.values())
    except Exception:  # not started, stopping, or another driver
        return False


def readiness(ww: WirewatchApp) -> Readiness:
    app = ww.app
    return Readiness(
        checks={
            "assignment": ww.assignment_known and not app.rebalancing,
            "broker": _broker_reachable(app),
            "models": ww.models_ready.is_set(),
        }
    )


def rebalancing_seconds(ww: WirewatchApp, now: float | None = None) -> float:
    """How long the current rebalance has lasted (0.0 when none is running)."""
    if ww.rebalance_started is None:
        return 0.0
    return max(0.0, (time.monotonic() if now is None else now) - ww.rebalance_started)


def liveness(ww: WirewatchApp, now: float | None = None) -> tuple[int, dict[str, Any]]:
    """Status code and body of /health."""
    limit = ww.settings.rebalance_stall_seconds
    seconds = rebalancing_seconds(ww, now)
    if limit > 0 and seconds > limit:
        return 503, {"status": "stalled", "rebalancing_seconds": round(seconds), "limit_seconds": limit}
    return 200, {"status": "up"}


def install_pages(ww: WirewatchApp) -> None:
    """Register /health, /ready and /metrics on ``ww.app`` and the readiness gauge."""
    app = ww.app
    ww.metrics.ready.set_function(lambda: 1.0 if readiness(ww).ready else 0.0)
    ww.metrics.rebalancing.set_function(lambda: rebalancing_seconds(ww))

    @app.page("/health")
    async def health(self: Any, request: Any) -> Any:
        status, body = liveness(ww)
        return self.json(body, status=status)

    @app.page("/ready")
    async def ready(self: Any, request: Any) -> Any:
        state = readiness(ww)
        return self.json(state.to_value(), status=200 if state.ready else 503)

    @app.page("/metrics")
    async def metrics(self: Any, request: Any) -> Any:
        return self.bytes(ww.metrics.render(), headers={"Content-Type": CONTENT_TYPE})
