"""The NLP child process (workers/nlp_process.py): same results as in-process, order, failures, lifetime.

Each test that starts a process pays for its models (~6 s), so the tests
that leave the process healthy share one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import string
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import psutil
import pytest
import pytest_asyncio

from topics.records import Article
from workers.metrics import Metrics
from workers.nlp_process import NlpError, NlpProcess, NlpProcessDied, enrich_raw, keep_freed_heap
from workers.pipeline import Pipeline
from workers.settings import Settings

ROOT = Path(__file__).resolve().parents[2]

# the shared process lives on the module's event loop, so the tests that use it do too
on_module_loop = pytest.mark.asyncio(loop_scope="module")

TEXTS = [
    ("fr-1", "fr", "Des frappes aériennes ont touché Alep mardi malgré le cessez-le-feu, selon l'OSDH."),
    ("en-1", "en", "Russian forces launched a ground offensive near Kharkiv on Monday, officials in Kyiv said."),
    ("en-2", "en", "The truce between Israel and Hamas was broken by an airstrike on Gaza City, witnesses said."),
    ("fr-2", "fr", "Le gouvernement a présenté son budget pour l'année prochaine devant l'Assemblée nationale."),
]


def raws(texts: list[tuple[str, str, str]] = TEXTS) -> list[bytes]:
    return [orjson.dumps(Article(id=i, text=t, language=lang).to_value()) for i, lang, t in texts]


def comparable(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != "processed_at"}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def shared() -> AsyncIterator[NlpProcess]:
    process = NlpProcess(Settings())
    await process.start()
    yield process
    proc = psutil.Process(process.pid) if process.pid else None
    await process.close()
    assert proc is not None and not proc.is_running(), "close() leaves no process behind"


@on_module_loop
async def test_results_are_those_of_the_pipeline_in_process(shared: NlpProcess, pipeline: Pipeline) -> None:
    batch = raws()
    got = (await (await shared.submit(batch))).results
    want = enrich_raw(pipeline, batch).results
    assert [comparable(r.event) for r in got] == [comparable(r.event) for r in want]
    assert [r.alerts for r in got] == [r.alerts for r in want]
    assert any(r.alerts for r in got), "the sample holds alerts, so the comparison covers them"


@on_module_loop
async def test_batches_in_flight_come_back_each_to_its_own_future(shared: NlpProcess) -> None:
    first = await shared.submit(raws(TEXTS[:2]))
    second = await shared.submit(raws(TEXTS[2:]))
    late, early = await second, await first  # awaited out of order on purpose
    assert [r.event["id"] for r in early.results] == ["fr-1", "en-1"]
    assert [r.event["id"] for r in late.results] == ["en-2", "fr-2"]
    assert early.seconds > 0 and late.seconds > 0


@on_module_loop
async def test_a_batch_that_raises_fails_alone_and_the_process_lives_on(shared: NlpProcess) -> None:
    pid, started = shared.pid, shared.started
    with pytest.raises(NlpError, match="JSONDecodeError") as info:
        await (await shared.submit([b"{not json"]))
    assert not isinstance(info.value, NlpProcessDied)
    assert "Traceback" in str(info.value), "the child's traceback comes with the error"
    ok = await (await shared.submit(raws(TEXTS[:1])))
    assert [r.event["id"] for r in ok.results] == ["fr-1"]
    assert (shared.pid, shared.started) == (pid, started)


async def test_a_dead_or_stuck_process_fails_its_batches_and_the_next_batch_starts_another() -> None:
    metrics = Metrics()
    process = NlpProcess(Settings(), on_start=metrics.nlp_process_started)
    await process.start()
    try:
        # killed (out of memory, say) with a batch in flight
        first_pid = process.pid
        assert first_pid is not None
        future = await process.submit(raws())
        os.kill(first_pid, signal.SIGKILL)
        with pytest.raises(NlpProcessDied, match="SIGKILL"):
            await future

        # the next batch starts a new process; this one answers too late and is killed
        process.settings = Settings(nlp_timeout=0.001)
        with pytest.raises(NlpProcessDied, match="no answer"):
            await (await process.submit(raws()))
        second_pid = process.pid
        assert process.started == 2 and second_pid is None, "the stuck process was killed"

        process.settings = Settings()
        ok = await (await process.submit(raws()))
        assert [r.event["id"] for r in ok.results] == [i for i, _, _ in TEXTS]
        assert process.started == 3 and process.pid not in (None, first_pid)
        assert metrics.registry.get_sample_value("wirewatch_nlp_process_starts_total") == 3
    finally:
        await process.close()


def test_the_process_does_not_outlive_its_worker(tmp_path: Path) -> None:
    """A worker killed outright (SIGKILL: no clean-up runs) still takes its NLP process down."""
    script = tmp_path / "worker.py"
    script.write_text(
        textwrap.dedent(
            """
            import asyncio
            from workers.nlp_process import NlpProcess
            from workers.settings import Settings

            async def main():
                process = NlpProcess(Settings())
                await process.start()
                print(process.pid, flush=True)
                await asyncio.sleep(600)

            asyncio.run(main())
            """
        )
    )
    worker = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout is not None
        child = psutil.Process(int(worker.stdout.readline()))
        assert child.is_running() and child.ppid() == worker.pid
        worker.kill()
        worker.wait(10)
        deadline = time.monotonic() + 30
        while child.is_running() and child.status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the NLP process outlived its worker"
            time.sleep(0.1)
    finally:
        worker.kill()


async def test_a_process_that_cannot_load_its_models_says_so() -> None:
    process = NlpProcess(Settings(languages=("xx-no-such-language",)))
    with pytest.raises(NlpProcessDied, match="could not load its models"):
        await process.start()
    assert process.pid is None
    await asyncio.wait_for(process.close(), 10)


async def test_the_state_dump_says_what_the_process_holds_and_gets_its_stacks(
    capfd: pytest.CaptureFixture[str],
) -> None:
    process = NlpProcess(Settings())
    await process.start()  # started under capfd: the child's stderr is captured too
    try:
        assert process.describe().startswith(f"NLP process {process.pid}: 0 batch(es) in flight")
        future = await process.submit(raws())
        assert "1 batch(es) in flight, last answer" in process.describe()
        process.dump_stacks()
        await future
        deadline = time.monotonic() + 10
        err = ""
        while "in child_main" not in err:  # the child's main loop, from faulthandler
            assert time.monotonic() < deadline, f"no stacks from the NLP process; stderr: {err[-2000:]}"
            await asyncio.sleep(0.1)
            err += capfd.readouterr().err
        assert "Stack (most recent call first)" in err or "Current thread" in err
    finally:
        await process.close()
    assert process.describe() == "no NLP process running (started 1 so far)"


@on_module_loop
async def test_the_process_runs_numpy_on_one_blas_thread(shared: NlpProcess) -> None:
    """OpenBLAS would start a thread per core that spaCy never uses but pays for (workers/__init__.py)."""
    assert shared.pid is not None
    environ = Path(f"/proc/{shared.pid}/environ").read_bytes().split(b"\0")
    assert b"OPENBLAS_NUM_THREADS=1" in environ
    # the child's own threads: the main one only (OpenBLAS's would show here, one per extra core)
    assert psutil.Process(shared.pid).num_threads() == 1


def long_articles() -> list[bytes]:
    """16 articles of ~3,000 characters (three development-set bodies each), as wire copy runs."""
    rows = [orjson.loads(line) for line in (ROOT / "seeds" / "eval" / "articles.jsonl").read_bytes().splitlines()]
    out = []
    for language in ("fr", "en"):
        bodies = [r["body"] for r in rows if r.get("language") == language][:24]
        for i in range(0, 24, 3):
            text = "\n\n".join(bodies[i : i + 3])
            out.append(orjson.dumps(Article(id=f"{language}-{i}", text=text, language=language).to_value()))
    return out


def minor_faults(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[7])


@on_module_loop
async def test_the_process_keeps_the_heap_a_batch_frees_for_the_next(shared: NlpProcess) -> None:
    """glibc's defaults handed a batch's ~40 MB back to the system and faulted it in again for
    the next batch: ~10,000 page faults per batch of these 16 articles (WIREWATCH_NLP_HEAP_RETAIN_MB=0)."""
    assert shared.pid is not None
    batch = long_articles()
    await (await shared.submit(batch))  # the first batch grows the heap to its size
    before = minor_faults(shared.pid)
    for _ in range(3):
        await (await shared.submit(batch))
    per_batch = (minor_faults(shared.pid) - before) / 3
    assert per_batch < 1_000, f"{per_batch:.0f} page faults per batch"


def test_keeping_freed_heap_can_be_turned_off() -> None:
    assert keep_freed_heap(0) is False


def made_up_words(batch: int, words: int = 300) -> list[bytes]:
    """16 articles of words no pipeline has met: each one a new vocabulary entry, as a live feed's
    names, typos and slugs are. Seeded: the same batch number gives the same words."""
    rng = random.Random(batch)
    out = []
    for i in range(16):
        text = " ".join("".join(rng.choices(string.ascii_lowercase, k=9)) for _ in range(words)) + "."
        language = ("fr", "en")[i % 2]
        out.append(orjson.dumps(Article(id=f"new-{batch}-{i}", text=text, language=language).to_value()))
    return out


async def test_a_limit_below_a_fresh_process_is_refused_with_a_clear_log(caplog: pytest.LogCaptureFixture) -> None:
    process = NlpProcess(Settings(nlp_max_rss_mb=1))
    await process.start()
    try:
        assert "WIREWATCH_NLP_MAX_RSS_MB=1 is less than the NLP process holds" in caplog.text
        pid = process.pid
        for batch in range(2):
            await (await process.submit(made_up_words(batch)))
        assert process.pid == pid and process.started == 1, "not replaced after every batch"
        assert "(limit" not in process.describe()
    finally:
        await process.close()


async def test_a_process_grown_past_its_limit_is_replaced_between_batches(caplog: pytest.LogCaptureFixture) -> None:
    """spaCy keeps every new word for the life of the process; past WIREWATCH_NLP_MAX_RSS_MB the worker
    lets it answer the batches it holds and starts a fresh one before the next: nothing fails."""
    caplog.set_level(logging.INFO, logger="wirewatch.nlp")
    warm = NlpProcess(Settings(nlp_max_rss_mb=0))
    await warm.start()
    for batch in (1000, 1001):  # the heap a batch takes, kept for the next one (keep_freed_heap)
        await (await warm.submit(made_up_words(batch)))
    warm_mb = warm.rss_mb
    await warm.close()
    assert warm_mb is not None and warm_mb > 100, "the models are loaded"

    metrics = Metrics()
    limit = warm_mb + 16
    process = NlpProcess(
        Settings(nlp_max_rss_mb=limit), on_start=metrics.nlp_process_started, on_replaced=metrics.nlp_process_replaced
    )
    await process.start()
    try:
        first = process.pid
        grown: list[int] = []
        batch = 0
        while process.pid == first:
            assert batch < 80, f"still {process.rss_mb} MB after {batch} batches of new words (limit {limit} MB)"
            two = [await process.submit(made_up_words(batch)), await process.submit(made_up_words(batch + 1))]
            for future, n in zip(await asyncio.gather(*two), (batch, batch + 1), strict=True):
                assert [r.event["id"] for r in future.results] == [f"new-{n}-{i}" for i in range(16)]
            grown.append(process.rss_mb or 0)
            batch += 2
        print(f"warm {warm_mb} MB, limit {limit} MB, after each two batches of new words: {grown}")
        # the batch that found the process over its limit was answered; the next started a new one
        assert max(grown) >= limit  # MiB rounded down
        assert process.started == 2 and process.pid not in (None, first)
        assert not psutil.pid_exists(first) or psutil.Process(first).status() == psutil.STATUS_ZOMBIE
        assert metrics.registry.get_sample_value("wirewatch_nlp_process_starts_total") == 2
        assert metrics.registry.get_sample_value("wirewatch_nlp_process_replacements_total") == 1
        assert f"over WIREWATCH_NLP_MAX_RSS_MB={limit}" in caplog.text
        ok = await (await process.submit(raws()))
        assert [r.event["id"] for r in ok.results] == [i for i, _, _ in TEXTS]
        assert (process.rss_mb or 0) < limit
        assert f"(limit {limit} MB)" in process.describe()
    finally:
        await process.close()
