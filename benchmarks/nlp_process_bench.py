"""The NLP process alone against raw ``nlp.pipe``, turn by turn, no broker (issue 8).

Where does one worker lose against (a)? This takes Kafka, the event loop and
the broker out: the worker's NLP process (``workers/nlp_process.py``: spaCy,
entity linking, alert rules, the pickled protocol) is fed batches of the enrich
agent's size (``WIREWATCH_NLP_BATCH_SIZE``, 16), a whole turn's batches queued at
once so that it never waits for the next one (as the agent's two batches in
flight keep it from waiting), and (a)'s process
(``pipeline_bench.Baseline``) runs plain ``nlp.pipe`` over the same texts. The
two take turns every 64 articles (a-child, then child-a, ...), so the host's
drift falls on both alike. Each gets the same 32 warm-up articles first.

    .venv/bin/python benchmarks/nlp_process_bench.py [--turns 12]

Prints JSON: CPU and wall milliseconds per article of each, and their ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import orjson
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.pipeline_bench import Baseline, BenchArticle, bench_articles, progress  # noqa: E402
from topics.records import Article  # noqa: E402
from workers.nlp_process import NlpProcess  # noqa: E402
from workers.settings import Settings  # noqa: E402

TURN = 64  # articles per turn
BATCH = Settings().nlp_batch_size  # as the enrich agent takes them (WIREWATCH_NLP_BATCH_SIZE, default 16)


def values(articles: Sequence[BenchArticle]) -> list[bytes]:
    """Unique-topic record values, as the NLP process receives them."""
    return [
        orjson.dumps(Article(id=a.suffix, text=a.text, language=a.language, language_detected=False).to_value())
        for a in articles
    ]


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


async def run(turns: int) -> dict[str, object]:
    pool = bench_articles(32 + turns * TURN)
    warmup, texts = pool[:32], pool[32:]
    progress("loading the pipelines in (a)'s process and in the NLP process")
    baseline = Baseline(warmup, BATCH)
    nlp = NlpProcess(Settings())
    try:
        await nlp.start()
        baseline.wait_ready()
        assert nlp.pid is not None
        child, a_proc = psutil.Process(nlp.pid), psutil.Process(baseline.proc.pid)
        for start in range(0, len(warmup), BATCH):
            await (await nlp.submit(values(warmup[start : start + BATCH])))
        cpu = {"a": 0.0, "nlp_process": 0.0}
        wall = {"a": 0.0, "nlp_process": 0.0}
        for turn in range(turns):
            part = texts[turn * TURN : (turn + 1) * TURN]
            for who in ("a", "nlp_process") if turn % 2 == 0 else ("nlp_process", "a"):
                proc = a_proc if who == "a" else child
                c0, t0 = cpu_seconds(proc), time.perf_counter()
                if who == "a":
                    baseline.run(part)
                else:  # the turn's batches queued at once: the child never waits between them
                    pending = [await nlp.submit(values(part[i : i + BATCH])) for i in range(0, TURN, BATCH)]
                    for future in pending:
                        await future
                cpu[who] += cpu_seconds(proc) - c0
                wall[who] += time.perf_counter() - t0
            progress(f"turn {turn + 1}/{turns}")
    finally:
        await nlp.close()
        baseline.close()
    n = turns * TURN
    return {
        "articles": n,
        "cpu_ms_per_article": {k: round(1000 * v / n, 1) for k, v in cpu.items()},
        "wall_ms_per_article": {k: round(1000 * v / n, 1) for k, v in wall.items()},
        # above 1: the NLP process is slower than raw nlp.pipe
        "nlp_process_over_a_cpu": round(cpu["nlp_process"] / cpu["a"], 3),
        "nlp_process_over_a_wall": round(wall["nlp_process"] / wall["a"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=12, help=f"turns of each, {TURN} new articles a turn")
    args = parser.parse_args()
    print(orjson.dumps(asyncio.run(run(args.turns)), option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
