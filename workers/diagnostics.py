"""A state dump of the consumer on SIGUSR1, for a worker that is up but not progressing.

``kill -USR1 <pid>`` (or ``docker compose kill -s USR1 worker``) logs, at
WARNING on ``wirewatch.diagnostics``, what decides whether records flow:

* Faust's side: the assignment, the partitions it treats as active or paused,
  whether its flow is running, table recovery's state, and how many records
  wait in each agent's queue;
* Faust's commit bookkeeping, per partition with acks pending: the offset
  it last committed, the last offset its fetcher read, the acked offsets as
  runs (a commit goes up to the end of the first run that starts at the
  committed offset), any offset acked twice, and the gaps it counts as acked;
  a partition whose commit stands still shows here why;
* aiokafka's side (its consumer runs in its own thread): for each assigned
  partition, whether it is paused, its fetch position and its high watermark,
  the fetcher's buffered partitions and whether its fetch task is alive;
* what the NLP process is doing (its pid, the batches it holds, how long
  since it last answered), and that process's own stacks, which it writes to
  stderr (``faulthandler``) when the worker passes SIGUSR1 on;
* then the stacks of every thread and asyncio task (mode's ``cry``, which
  SIGUSR1 triggers in any mode worker), and the tasks of the consumer thread's
  own event loop.

Reading another thread's state without its lock can show a value mid-change;
that is fine for a diagnosis and never changes the state.
"""

from __future__ import annotations

import asyncio
import io
import logging
import signal
import sys
from typing import TYPE_CHECKING, Any

from mode.utils.logging import cry

if TYPE_CHECKING:
    from .nlp_process import NlpRunner

__all__ = ["consumer_state", "install_state_dump", "offset_runs"]

log = logging.getLogger("wirewatch.diagnostics")


def _tp(tp: Any) -> str:
    return f"{tp.topic}[{tp.partition}]"


def _tps(tps: Any) -> str:
    if tps is None:
        return "None"
    return ", ".join(sorted(_tp(tp) for tp in tps)) or "-"


def offset_runs(offsets: Any, most: int = 6) -> str:
    """``offsets`` as sorted runs, ``"9-11, 13, 15-16"``; past ``most`` runs, how many more."""
    runs: list[list[int]] = []
    for offset in sorted(set(offsets)):
        if runs and offset == runs[-1][1] + 1:
            runs[-1][1] = offset
        else:
            runs.append([offset, offset])
    shown = [f"{a}-{b}" if b > a else f"{a}" for a, b in runs[:most]]
    if len(runs) > most:
        shown.append(f"... {len(runs) - most} more runs")
    return ", ".join(shown) or "-"


def _guard(lines: list[str], label: str, fn: Any) -> None:
    try:
        fn()
    except Exception as exc:  # a dump must never raise: report what could not be read
        lines.append(f"{label}: unreadable ({exc!r})")


def consumer_state(app: Any) -> str:
    """The text of the dump (without the stacks)."""
    lines: list[str] = []
    consumer = app.consumer

    def faust_side() -> None:
        lines.append(f"assignment: {_tps(consumer.assignment())}")
        lines.append(f"faust active: {_tps(consumer._active_partitions)}")
        lines.append(f"faust paused: {_tps(consumer._paused_partitions)}")
        lines.append(f"faust flow active: {consumer.flow_active}, can resume: {consumer.can_resume_flow.is_set()}")
        lines.append(f"app flow control active: {app.flow_control.is_active()}")
        lines.append(f"rebalancing: {app.rebalancing}, generation: {app.consumer_generation_id}")

    def recovery_side() -> None:
        recovery = app.tables.recovery
        lines.append(
            f"recovery: in_recovery={recovery.in_recovery} completed={recovery.completed.is_set()}"
            f" active={_tps(recovery.active_tps)} standby={_tps(recovery.standby_tps)}"
            f" remaining={ {_tp(tp): n for tp, n in recovery.active_remaining().items() if n} }"
        )

    def commits() -> None:
        pending = [tp for tp, acked in consumer._acked.items() if acked] + [
            tp for tp, gap in consumer._gap.items() if gap and not consumer._acked.get(tp)
        ]
        lines.append(f"commits pending: {len(pending)} partitions")
        for tp in sorted(pending, key=_tp):
            acked = list(consumer._acked.get(tp, ()))
            repeated = len(acked) - len(set(acked))
            gap = sorted((i.begin, i.end - 1) for i in consumer._gap.get(tp, ()))
            lines.append(
                f"  {_tp(tp)}: committed={consumer._committed_offset.get(tp)}"
                f" read={consumer._read_offset.get(tp)} acked={offset_runs(acked)}"
                + (f" acked twice={repeated}" if repeated else "")
                + (f" gaps={', '.join(f'{a}-{b}' for a, b in gap)}" if gap else "")
            )

    def queues() -> None:
        sizes = []
        for channel in list(app.topics._topics):
            queue = getattr(channel, "_queue", None)
            if queue is not None:
                sizes.append(f"{'/'.join(channel.topics)}={queue.qsize()}")
        lines.append(f"channel queues: {', '.join(sorted(sizes)) or '-'}")

    def aiokafka_side() -> None:
        kafka = consumer._thread._consumer
        assignment = kafka._subscription.subscription.assignment if kafka._subscription.subscription else None
        if assignment is None:
            lines.append("aiokafka: no assignment")
            return
        for tp in sorted(assignment.tps, key=_tp):
            state = assignment.state_value(tp)
            position = state._position if state.has_valid_position else f"awaiting reset ({state._status.name})"
            lines.append(f"  {_tp(tp)}: paused={state.paused} position={position} highwater={kafka.highwater(tp)}")
        fetcher = kafka._fetcher
        task = fetcher._fetch_task
        status = "running"
        if task.done():
            status = "cancelled" if task.cancelled() else f"ended: {task.exception()!r}"
        lines.append(f"aiokafka fetcher: buffered={_tps(fetcher._records.keys())} task={status}")

    _guard(lines, "faust consumer", faust_side)
    _guard(lines, "commits", commits)
    _guard(lines, "recovery", recovery_side)
    _guard(lines, "queues", queues)
    _guard(lines, "aiokafka consumer", aiokafka_side)
    return "\n".join(lines)


def _thread_loop_tasks(app: Any) -> str:
    try:
        loop = app.consumer._thread.thread_loop
        out = io.StringIO()
        for task in asyncio.all_tasks(loop):
            task.print_stack(limit=8, file=out)
        return out.getvalue()
    except Exception as exc:
        return f"consumer thread tasks unreadable ({exc!r})"


def install_state_dump(app: Any, loop: asyncio.AbstractEventLoop, nlp: NlpRunner | None = None) -> None:
    """Make SIGUSR1 log the consumer state, then every stack (replaces mode's stacks-only handler).

    With ``nlp``, the dump also says what the NLP process is doing, and that
    process writes its own stacks to stderr (``faulthandler``).
    """

    def dump() -> None:
        log.warning("state dump (SIGUSR1)\n%s", consumer_state(app))
        if nlp is not None:
            log.warning("NLP: %s", nlp.describe())
            nlp.dump_stacks()
        log.warning("consumer thread tasks:\n%s", _thread_loop_tasks(app))
        out = io.StringIO()
        cry(file=out)
        log.warning("stacks:\n%s", out.getvalue())
        sys.stderr.flush()

    loop.add_signal_handler(signal.SIGUSR1, dump)
