"""Where the enrich stage runs: a child process of the worker (default), or the worker itself.

Why a child process: a batch of 16 articles is ~0.6 s of spaCy, and spaCy's
Cython code holds the GIL. With spaCy in a thread of the worker, the event
loop (fetch, validate, dedup, produce: ~2 ms per article over three hops) and
spaCy took turns on one core, and spaCy itself ran 1-3 ms per article slower
than alone: one worker reached 0.83-0.87 of raw ``nlp.pipe``. In a child
process spaCy has a core to itself while the loop runs beside it, and a crash
of spaCy (a segfault, the out-of-memory killer) or a batch that never ends
costs a restart of the child, not the worker (README, Performance).

The child owns the spaCy pipelines, gazetteers and alert rules (a
``Pipeline`` with its models loaded); the worker itself never imports spaCy.

The protocol is ours and small: frames of an 8-byte big-endian length and a
pickle, over the child's stdin and stdout. The worker sends its ``Settings``
first; the child answers ``("ready", pid, seconds)`` once its models are
loaded, or ``("fatal", message)``. Then each request is a list of unique-topic
record values (bytes), and each answer, in the same order, ``("ok",
Enriched)`` or ``("error", summary, traceback)``. Requests may queue: the
enrich agent keeps two batches in flight, so the child starts the next batch
while the worker publishes the last one. The child exits when its stdin
closes: when the worker stops, and also when the worker is killed, so a child
never outlives its worker. It ignores SIGINT and SIGTERM sent to the whole
process group: a stopping worker lets it finish the batches in flight.

Failures, and what the worker does (``workers/app.py``):
- the child raises on a batch: its future raises ``NlpError``; the agent
  retries the batch one article at a time and dead-letters an article that
  still fails (code ``internal_error``);
- the child dies, or gives no answer within ``nlp_timeout`` seconds (it is
  then killed): the futures of all its batches raise ``NlpProcessDied`` and the
  next batch starts a new child (its models load again, ~6 s), so the same
  one-by-one retry isolates an article that kills spaCy.

Each answer also carries the child's resident size after the batch. spaCy keeps
every new word it meets (vocabulary, tokenizer and lemmatizer caches) for the
life of the process, so on a live feed the child creeps up. Past
``nlp_max_rss_mb``, the worker lets the child answer the batches it holds,
closes it and starts a new one before sending the next batch: nothing is
retried; enrichment pauses while the models load.
"""

from __future__ import annotations

import asyncio
import contextvars
import ctypes
import faulthandler
import logging
import os
import pickle
import signal
import struct
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Protocol

import orjson

from topics.records import Article

if TYPE_CHECKING:
    from .pipeline import EnrichedResult, Pipeline
    from .settings import Settings

__all__ = [
    "Enriched",
    "NlpError",
    "NlpInWorker",
    "NlpProcess",
    "NlpProcessDied",
    "NlpRunner",
    "enrich_raw",
    "keep_freed_heap",
    "nlp_runner",
]

log = logging.getLogger("wirewatch.nlp")

_LENGTH = struct.Struct(">Q")
_PROTOCOL = pickle.HIGHEST_PROTOCOL


class NlpError(Exception):
    """The NLP process raised on a batch (the message carries its exception)."""


class NlpProcessDied(NlpError):
    """The NLP process exited, or was killed for taking too long, before answering."""


@dataclass(frozen=True, slots=True)
class Enriched:
    """The results of one batch, in order, and the seconds spaCy and the rules took over it."""

    results: list[EnrichedResult]
    seconds: float


def enrich_raw(pipeline: Pipeline, raws: list[bytes]) -> Enriched:
    """The enrich stage over unique-topic record values (in the child, or in the worker)."""
    started = time.perf_counter()
    results = pipeline.enrich([Article.from_value(orjson.loads(r)) for r in raws])
    return Enriched(results, time.perf_counter() - started)


class NlpRunner(Protocol):
    """Where the enrich stage runs. ``submit`` returns at once with a future of the batch's
    results: batches are enriched one at a time, in the order submitted."""

    async def start(self) -> None: ...

    async def submit(self, raws: list[bytes]) -> asyncio.Future[Enriched]: ...

    async def close(self) -> None: ...

    def describe(self) -> str: ...

    def dump_stacks(self) -> None: ...


def nlp_runner(
    settings: Settings,
    pipeline: Pipeline,
    on_start: Callable[[], None] | None = None,
    on_replaced: Callable[[], None] | None = None,
) -> NlpRunner:
    """The runner ``settings`` ask for: the child process (``on_start`` called as each starts,
    ``on_replaced`` as one is replaced for its size), a thread of the worker, or its loop."""
    if settings.nlp_process:
        return NlpProcess(settings, on_start, on_replaced)
    return NlpInWorker(pipeline, thread=settings.nlp_thread)


# -- spaCy in the worker itself ---------------------------------------------------


class NlpInWorker:
    """The enrich stage in one thread of the worker (or on its event loop: tests, debugging)."""

    def __init__(self, pipeline: Pipeline, *, thread: bool) -> None:
        self.pipeline = pipeline
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wirewatch-nlp") if thread else None

    async def start(self) -> None:
        if not self.pipeline.models_loaded:
            await asyncio.get_running_loop().run_in_executor(self._executor, self.pipeline.load_models)

    async def submit(self, raws: list[bytes]) -> asyncio.Future[Enriched]:
        loop = asyncio.get_running_loop()
        if self._executor is not None:  # with this task's context: the article ids of the logs
            context = contextvars.copy_context()
            return loop.run_in_executor(self._executor, context.run, enrich_raw, self.pipeline, raws)
        future: asyncio.Future[Enriched] = loop.create_future()
        try:
            future.set_result(enrich_raw(self.pipeline, raws))
        except Exception as exc:
            future.set_exception(exc)
        return future

    async def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)

    def describe(self) -> str:
        where = "a thread of the worker" if self._executor is not None else "the worker's event loop"
        return f"spaCy runs in {where} (WIREWATCH_NLP_PROCESS=false); its stacks are the worker's"

    def dump_stacks(self) -> None:
        """Nothing to do: the worker's own stack dump covers this thread."""


# -- the worker's end of the child process ------------------------------------------


class _Child:
    """One child process, the futures of the batches it was sent, and the task reading its answers."""

    def __init__(self, proc: asyncio.subprocess.Process, timeout: float) -> None:
        self.proc = proc
        self.timeout = timeout
        self.pending: deque[asyncio.Future[Enriched]] = deque()
        self.last_answer = time.monotonic()  # when the child last answered (or started)
        self.more = asyncio.Event()  # set when a request is sent
        self.reader: asyncio.Task[None] | None = None
        self.max_rss = 0  # bytes; 0: no limit on this child's size
        self.rss = 0  # its resident size after its last batch (or once loaded), bytes
        self.retire = False  # past max_rss: replace it once its batches are answered

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None and (self.reader is None or not self.reader.done())

    def send(self, message: object) -> None:
        assert self.proc.stdin is not None
        # No drain(): the transport buffers what the pipe cannot take yet. At most
        # two batches are in flight (workers/app.py), so the buffer stays small, and
        # waiting here while the child waits for its answer to be read would deadlock.
        self.proc.stdin.write(_frame(message))

    async def read(self) -> Any:
        assert self.proc.stdout is not None
        (length,) = _LENGTH.unpack(await self.proc.stdout.readexactly(_LENGTH.size))
        return pickle.loads(await self.proc.stdout.readexactly(length))

    async def read_answers(self) -> None:
        """Give each answer to the oldest pending batch; on death or timeout, fail them all."""
        try:
            while True:
                while not self.pending:
                    self.more.clear()
                    await self.more.wait()
                reply = await asyncio.wait_for(self.read(), self.timeout)
                self.last_answer = time.monotonic()
                future = self.pending.popleft()
                if future.done():  # its waiter went away
                    continue
                if reply[0] == "ok":
                    self.rss = reply[2]
                    if self.max_rss and self.rss > self.max_rss and not self.retire:
                        self.retire = True
                        log.info(
                            "NLP process %d holds %d MB after a batch, over WIREWATCH_NLP_MAX_RSS_MB=%d: "
                            "it is replaced once its batches are answered (the models load again)",
                            self.proc.pid,
                            self.rss >> 20,
                            self.max_rss >> 20,
                        )
                    future.set_result(reply[1])
                else:
                    future.set_exception(NlpError(f"in the NLP process: {reply[1]}\n{reply[2]}"))
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            self.fail(f"the NLP process gave no answer in {self.timeout:.0f} s; killed it")
        except (asyncio.IncompleteReadError, ConnectionError):
            await self.proc.wait()
            self.fail(f"the NLP process died ({_exit(self.proc)})")
        except Exception as exc:  # an answer that does not unpickle: the two ends disagree
            log.exception("NLP process %d: unreadable answer; killing it", self.proc.pid)
            self.proc.kill()
            await self.proc.wait()
            self.fail(f"unreadable answer from the NLP process: {type(exc).__name__}: {exc}")

    def fail(self, why: str) -> None:
        while self.pending:
            future = self.pending.popleft()
            if not future.done():
                future.set_exception(NlpProcessDied(why))


class NlpProcess:
    """The enrich stage in a child process, restarted when it dies."""

    def __init__(
        self,
        settings: Settings,
        on_start: Callable[[], None] | None = None,
        on_replaced: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.on_start = on_start  # called for each child started (the worker's metrics)
        self.on_replaced = on_replaced  # called for each child replaced for its size
        self.started = 0  # children started so far (1 + restarts)
        self._child: _Child | None = None
        self._starting = asyncio.Lock()
        self._closed = False  # once closed, no new child is started

    @property
    def pid(self) -> int | None:
        child = self._child
        return child.proc.pid if child is not None and child.alive else None

    @property
    def rss_mb(self) -> int | None:
        """The child's resident size after its last batch (or once loaded), MiB; None if none runs."""
        child = self._child
        return child.rss >> 20 if child is not None and child.alive else None

    async def start(self) -> None:
        """Start the child if none is running (it has loaded its models when this returns)."""
        await self._running()

    async def submit(self, raws: list[bytes]) -> asyncio.Future[Enriched]:
        """Send ``raws`` to the child (started again first if it died); the future of its answer.

        The future raises ``NlpError`` if the child raised on the batch, and
        ``NlpProcessDied`` if the child died, or was killed for taking too long,
        before answering.
        """
        future: asyncio.Future[Enriched] = asyncio.get_running_loop().create_future()
        try:
            child = await self._running()
        except NlpError as exc:
            future.set_exception(exc)
            return future
        child.pending.append(future)
        child.more.set()
        child.send(raws)
        return future

    async def close(self) -> None:
        """Close the child's stdin (it exits after its current batch); kill it if it lingers."""
        self._closed = True
        child, self._child = self._child, None
        if child is None:
            return
        if child.reader is not None:
            child.reader.cancel()
        child.fail("the worker is stopping")
        if child.proc.returncode is not None:
            return
        assert child.proc.stdin is not None
        child.proc.stdin.close()
        try:
            await asyncio.wait_for(child.proc.wait(), 10.0)
        except TimeoutError:
            child.proc.kill()
            await child.proc.wait()

    def describe(self) -> str:
        """One line for the state dump: which process, how many batches it holds, since when it is silent."""
        child = self._child
        if child is None or not child.alive:
            return f"no NLP process running (started {self.started} so far)"
        waiting = len(child.pending)
        silent = f", last answer {time.monotonic() - child.last_answer:.1f} s ago" if waiting else ""
        limit = f" (limit {child.max_rss >> 20} MB)" if child.max_rss else ""
        return (
            f"NLP process {child.proc.pid}: {waiting} batch(es) in flight{silent}; "
            f"{child.rss >> 20} MB after its last batch{limit}; "
            f"started {self.started} time(s); timeout {child.timeout:.0f} s"
        )

    def dump_stacks(self) -> None:
        """Ask the NLP process to write its Python stacks to stderr (the worker's log): SIGUSR1."""
        child = self._child
        if child is not None and child.alive:
            child.proc.send_signal(signal.SIGUSR1)

    async def _running(self) -> _Child:
        async with self._starting:
            child = self._child
            if child is not None and child.alive and child.retire:
                await self._replace(child)
                child = self._child = None
            if child is not None and child.alive:
                return child
            if self._closed:
                raise NlpProcessDied("the worker is stopping: no NLP process is started any more")
            if child is not None:
                log.warning("NLP process %d exited (%s); starting a new one", child.proc.pid, _exit(child.proc))
            self._child = await self._spawn()
            return self._child

    async def _replace(self, child: _Child) -> None:
        """Let ``child`` answer the batches it holds, then close it (its size is over the limit)."""
        waiting = list(child.pending)
        if waiting:
            await asyncio.wait(waiting)
        assert child.proc.stdin is not None
        child.proc.stdin.close()  # the child exits once its stdin is closed
        try:
            await asyncio.wait_for(child.proc.wait(), 10.0)
        except TimeoutError:
            child.proc.kill()
            await child.proc.wait()
        if child.reader is not None:
            child.reader.cancel()
        if self.on_replaced is not None:
            self.on_replaced()

    async def _spawn(self) -> _Child:
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            __name__,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            # stderr is the worker's: the child's logs come out with the worker's
        )
        self.started += 1
        if self.on_start is not None:
            self.on_start()
        child = _Child(proc, self.settings.nlp_timeout)
        child.send(self.settings)
        try:
            reply = await child.read()  # no timeout: loading models takes what it takes
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            await proc.wait()
            raise NlpProcessDied(f"the NLP process exited while loading its models ({_exit(proc)})") from exc
        if reply[0] != "ready":
            await proc.wait()
            raise NlpProcessDied(f"the NLP process could not load its models: {reply[1]}")
        child.rss = reply[3]
        max_rss = self.settings.nlp_max_rss_mb << 20
        if max_rss and child.rss >= max_rss:
            log.error(
                "WIREWATCH_NLP_MAX_RSS_MB=%d is less than the NLP process holds with its models "
                "loaded (%d MB): it is not replaced for its size",
                self.settings.nlp_max_rss_mb,
                child.rss >> 20,
            )
        elif max_rss:
            child.max_rss = max_rss
        child.reader = asyncio.create_task(child.read_answers(), name=f"wirewatch-nlp-{proc.pid}")
        log.info(
            "NLP process %d ready: models loaded in %.1f s (%.1f s with its start), %d MB",
            reply[1],
            reply[2],
            time.monotonic() - started,
            child.rss >> 20,
        )
        return child


def _exit(proc: asyncio.subprocess.Process) -> str:
    code = proc.returncode
    if code is None:
        return "still running"
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


# -- the child's end ------------------------------------------------------------


def _frame(message: object) -> bytes:
    """One frame of the protocol (both ends): the pickle's length, then the pickle."""
    data = pickle.dumps(message, protocol=_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


def _read_frame(inbox: IO[bytes]) -> bytes | None:
    head = inbox.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None  # the worker closed the pipe, or died
    (length,) = _LENGTH.unpack(head)
    return inbox.read(length)


def _write_frame(outbox: IO[bytes], message: object) -> None:
    outbox.write(_frame(message))
    outbox.flush()


def _glibc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None  # not glibc: the allocator's defaults stay


def _rss_bytes() -> int:
    """This process's resident size (Linux; 0 where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _release_free_heap() -> None:
    """Hand the heap that loading left free back to the system (glibc only).

    Building the gazetteers parses all of GeoNames and keeps a few tables of it:
    ~20 MB of freed heap the allocator would otherwise keep for good.
    """
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


# mallopt(3) parameters of glibc's malloc.h
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # the largest glibc accepts on 64-bit systems


def keep_freed_heap(retain_mb: int) -> bool:
    """Let the allocator keep up to ``retain_mb`` MiB of freed heap for reuse (glibc only).

    A batch's arrays (tok2vec, parser and NER states: ~40 MB for 16 wire
    articles) are freed when it ends. With glibc's defaults the heap's top was
    handed back to the system each time and faulted in again by the next batch:
    ~650 minor page faults and ~1 ms of kernel time per article, on top of the
    cache misses of fresh pages. Blocks up to 32 MiB now come from the heap
    rather than from their own ``mmap``, and the heap is trimmed only when more
    than ``retain_mb`` MiB at its top are free. The process's resident size then
    stays near its peak between batches instead of dipping; the peak itself
    hardly moves. Returns whether the setting took (False: 0, or not glibc).
    """
    libc = _glibc() if retain_mb > 0 else None
    if libc is None:
        return False
    retain = retain_mb * 1024 * 1024
    took = libc.mallopt(_M_MMAP_THRESHOLD, min(retain, _MMAP_THRESHOLD_MAX))
    return bool(took and libc.mallopt(_M_TRIM_THRESHOLD, retain))


def child_main() -> int:
    """The child: load the models, then answer requests until stdin closes."""
    # Ctrl-C reaches the whole process group, and so does SIGTERM from systemd (its default
    # KillMode) or `kill -TERM -<pgid>`: the worker decides when the child stops. It finishes
    # its batches and closes the child's stdin, and the child exits then. Dying at once
    # instead failed the batches in flight, and the worker started a new child (models
    # loaded again, ~9 s) to retry them one by one while it was stopping.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # the worker's state dump (SIGUSR1, workers/diagnostics.py) asks for this process's stacks too;
    # faulthandler writes them even while spaCy is stuck in compiled code
    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)
    inbox = sys.stdin.buffer
    outbox = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print() must never reach the pipe
    frame = _read_frame(inbox)
    if frame is None:
        return 0
    settings: Settings = pickle.loads(frame)

    import logging.config

    from .logs import logging_config
    from .pipeline import Pipeline

    logging.config.dictConfig(logging_config(settings.log_level, settings.log_json))
    started = time.monotonic()
    try:
        pipeline = Pipeline(settings)
    except Exception as exc:
        log.exception("NLP process: loading the models failed")
        _write_frame(outbox, ("fatal", f"{type(exc).__name__}: {exc}"))
        return 1
    _release_free_heap()
    keep_freed_heap(settings.nlp_heap_retain_mb)
    _write_frame(outbox, ("ready", os.getpid(), time.monotonic() - started, _rss_bytes()))
    while (frame := _read_frame(inbox)) is not None:
        raws: list[bytes] = pickle.loads(frame)
        try:
            reply: tuple[Any, ...] = ("ok", enrich_raw(pipeline, raws), _rss_bytes())
        except Exception as exc:
            reply = ("error", f"{type(exc).__name__}: {exc}", traceback.format_exc())
        try:
            _write_frame(outbox, reply)
        except BrokenPipeError:
            return 0  # the worker is gone
    return 0


if __name__ == "__main__":
    # Run as ``python -m workers.nlp_process``: import this module under its own
    # name, so what the child pickles (``Enriched``) unpickles in the worker.
    from workers.nlp_process import child_main as main

    sys.exit(main())
