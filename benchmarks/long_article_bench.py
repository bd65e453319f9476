"""One long article through the enrich stage, whole and in pieces (``WIREWATCH_NLP_CHUNK_CHARS``).

A valid article may carry up to a mebibyte of body (``WIREWATCH_BODY_MAX_BYTES``).
Whole, spaCy's memory grows with the text it is given at once; in pieces cut
at paragraph breaks (``workers/nlp.py``: ``split_for_nlp``) it grows with a
piece. Each mode runs in a fresh process of its own (its peak memory is its
own): the enrich stage's pipelines are loaded and warmed on a short text, then
one article of ``--size`` bytes of wire copy (the size test's text, distinct
sentences in paragraphs of three) goes through spaCy, entity linking and the
alert rules, each timed.

    .venv/bin/python benchmarks/long_article_bench.py [--size 300000] [--chunk-chars 10000]

Prints JSON: seconds per stage and the growth of peak RSS in each mode, and
the ratios pieces/whole. Writes it to ``benchmarks/results/long_article.json``.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results"


def progress(message: str) -> None:
    print(f"[long_article_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def one_mode(size: int, chunk_chars: int) -> dict[str, Any]:
    """In this process: load, warm up, then time one article of ``size`` bytes."""
    from tests.integration.test_sizes_broker import wire_text
    from topics.records import Article
    from workers.pipeline import Pipeline
    from workers.settings import Settings

    text = wire_text(size)
    pipeline = Pipeline(Settings(nlp_chunk_chars=chunk_chars))
    pipeline.enrich([Article(id="warm", text=text[:3000], language="en", language_detected=False)])
    before = peak_mb()
    article = Article(id="long", text=text, language="en", language_detected=False)
    t0 = time.perf_counter()
    _, doc = next(pipeline.pool.iter_pipe([text], ["en"]))
    t1 = time.perf_counter()
    entities = pipeline.entities.extract(doc, "en", text)
    t2 = time.perf_counter()
    alerts = pipeline.alerts.detect(doc, article, entities).evidence
    t3 = time.perf_counter()
    return {
        "chunk_chars": chunk_chars,
        "characters": len(text),
        "tokens": len(doc),
        "spacy_s": round(t1 - t0, 2),
        "entities_s": round(t2 - t1, 2),
        "alerts_s": round(t3 - t2, 2),
        "total_s": round(t3 - t0, 2),
        "peak_rss_mb": round(peak_mb()),
        "peak_rss_growth_mb": round(peak_mb() - before),
        "entities": len(entities),
        "alert_sentences": len(alerts),
        "sentences": sum(1 for _ in doc.sents),
    }


def summarise(whole: dict[str, Any], pieces: dict[str, Any]) -> dict[str, Any]:
    """Both modes, and pieces over whole for time and memory growth."""
    return {
        "benchmark": "one long article through the enrich stage, whole and in pieces",
        "whole": whole,
        "pieces": pieces,
        "ratios": {
            "pieces_over_whole_total_s": round(pieces["total_s"] / whole["total_s"], 3),
            "pieces_over_whole_spacy_s": round(pieces["spacy_s"] / whole["spacy_s"], 3),
            "pieces_over_whole_peak_rss_growth": round(
                pieces["peak_rss_growth_mb"] / max(1, whole["peak_rss_growth_mb"]), 3
            ),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=300_000, help="bytes of text (default 300,000)")
    parser.add_argument("--chunk-chars", type=int, default=10_000, help="piece size of the 'pieces' mode")
    parser.add_argument("--mode-chunk", type=int, help=argparse.SUPPRESS)  # the child: one mode
    args = parser.parse_args()
    if args.mode_chunk is not None:
        print(orjson.dumps(one_mode(args.size, args.mode_chunk)).decode(), flush=True)
        return
    results = {}
    for name, chunk in (("whole", 0), ("pieces", args.chunk_chars)):
        progress(f"{name}: one article of {args.size:,} bytes, in a process of its own")
        child = subprocess.run(
            [sys.executable, __file__, f"--size={args.size}", f"--mode-chunk={chunk}"],
            stdout=subprocess.PIPE,
            check=True,
        )
        results[name] = orjson.loads(child.stdout.splitlines()[-1])
        progress(f"    {results[name]['total_s']} s, peak RSS +{results[name]['peak_rss_growth_mb']} MB")
    summary = summarise(results["whole"], results["pieces"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "long_article.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    print(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
