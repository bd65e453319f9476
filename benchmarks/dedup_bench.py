"""Dedup stage throughput on one core, and the state it keeps per article.

State: what is durable (the signatures table: changelog records and RocksDB)
and what is derived and kept in memory (the exact index and the LSH buckets),
in bytes of JSON per article of the stream.

Stream: the development set's texts, each varied into distinct stories, with
about a third of the stream being copies (exact, boilerplate, small edits).
Baseline in the same run: the exact-hash step alone (fingerprint + sha256),
the floor of any content-based dedup.

    .venv/bin/python benchmarks/dedup_bench.py [--articles 6000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workers.dedup import DedupConfig, Deduplicator, DedupState, content_hash, fingerprint_text  # noqa: E402
from workers.normalise import normalise_article  # noqa: E402


def stream(n: int, seed: int = 3) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    bases = []
    for line in (ROOT / "seeds" / "eval" / "articles.jsonl").read_bytes().splitlines():
        obj = orjson.loads(line)
        bases.append(normalise_article(article_id=obj["id"], body=obj["body"]).text)
    pool = [sentence for base in bases for sentence in base.split(". ") if len(sentence) > 40]
    out: list[tuple[str, str]] = []
    originals: list[str] = []
    for i in range(n):
        if originals and rng.random() < 0.33:
            text = rng.choice(originals)
            kind = rng.randrange(3)
            if kind == 1:
                text += "\n\n(Avec AFP)"
            elif kind == 2:
                words = text.split(" ")
                words[rng.randrange(len(words))] = "modifié"
                text = " ".join(words)
        else:
            # a distinct story: eight sentences drawn from the whole set, and a unique tail
            text = ". ".join(rng.sample(pool, 8)) + f" Dépêche {i} " + " ".join(f"mot{i}x{j}" for j in range(12))
            originals.append(text)
        out.append((f"a{i}", text))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=6000)
    args = parser.parse_args()
    items = stream(args.articles)

    t0 = time.perf_counter()
    for _, text in items:
        content_hash(fingerprint_text(text))
    baseline = len(items) / (time.perf_counter() - t0)

    state = DedupState.in_memory()
    dedup = Deduplicator(DedupConfig(), state)
    t0 = time.perf_counter()
    duplicates = 0
    for i, (aid, text) in enumerate(items):
        duplicates += dedup.check(aid, text, float(i)).duplicate_of is not None
    rate = len(items) / (time.perf_counter() - t0)

    def size(mapping: Mapping[str, Any]) -> int:
        """Bytes of ``mapping`` as JSON keys and values (what a changelog record holds)."""
        return sum(len(orjson.dumps(k)) + len(orjson.dumps(v)) for k, v in mapping.items())

    # Durable: the signatures alone (one changelog record per unique article, and
    # RocksDB). The exact index and the LSH buckets are derived from them, in memory.
    durable_bytes = size(state.signatures)
    exact_bytes, bands_bytes = size(state.exact), size(state.bands)
    summary = {
        "articles": len(items),
        "duplicates_found": duplicates,
        "dedup_articles_per_s": round(rate),
        "baseline_exact_hash_articles_per_s": round(baseline),
        "ratio_dedup_to_exact_hash": round(rate / baseline, 3),
        "durable_tables": ["signatures"],
        "durable_entries": len(state.signatures),  # one changelog record each (ids are unique here)
        "changelog_bytes_per_article": round(durable_bytes / len(items)),
        "exact_index_bytes_per_article_in_memory": round(exact_bytes / len(items)),
        "lsh_index_bytes_per_article_in_memory": round(bands_bytes / len(items)),
        "in_memory_index_bytes_per_article": round((exact_bytes + bands_bytes) / len(items)),
        "lsh_bands": dedup.bands,
        "lsh_rows": dedup.rows,
    }
    print(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
