"""Health, readiness and metrics pages on the Faust web server.

- ``GET /health``: 200 while the process serves HTTP (liveness; nothing else checked).
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

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from .app import WirewatchApp

__all__ = ["Readiness", "install_pages", "readiness"]


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


def install_pages(ww: WirewatchApp) -> None:
    """Register /health, /ready and /metrics on ``ww.app`` and the readiness gauge."""
    app = ww.app
    ww.metrics.ready.set_function(lambda: 1.0 if readiness(ww).ready else 0.0)

    @app.page("/health")
    async def health(self: Any, request: Any) -> Any:
        return self.json({"status": "up"})

    @app.page("/ready")
    async def ready(self: Any, request: Any) -> Any:
        state = readiness(ww)
        return self.json(state.to_value(), status=200 if state.ready else 503)

    @app.page("/metrics")
    async def metrics(self: Any, request: Any) -> Any:
        return self.bytes(ww.metrics.render(), headers={"Content-Type": CONTENT_TYPE})
