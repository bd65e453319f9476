"""The pure parts of the pipeline benchmark (benchmarks/pipeline_bench.py): its texts and its arithmetic."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks import long_article_bench
from benchmarks.pipeline_bench import _halves, bench_articles, pooled, split_like_the_workers, summarise
from workers.dedup import DedupConfig, Deduplicator, DedupState


def test_halves_cut_at_the_paragraph_break_nearest_the_middle() -> None:
    text = "one two.\n\nthree four five.\n\nsix.\n\nseven eight nine ten."
    first, second = _halves(text)
    assert (first, second) == ("one two.\n\nthree four five.", "six.\n\nseven eight nine ten.")
    assert _halves("A single paragraph. With two sentences.") == ("A single paragraph", "With two sentences.")


def test_articles_past_the_pairs_are_still_distinct_and_as_long() -> None:
    articles = bench_articles(1800)  # the development set gives ~1,560 pairs
    assert len({a.suffix for a in articles}) == 1800
    dedup = Deduplicator(DedupConfig(), DedupState.in_memory())
    assert not [a.suffix for a in articles if dedup.check(a.suffix, a.text, 0.0).duplicate_of is not None]
    pairs, beyond = articles[:1500], articles[1600:]
    mean = [sum(len(a.text) for a in part) / len(part) for part in (pairs, beyond)]
    assert mean[1] == pytest.approx(mean[0], rel=0.15)
    french = [sum(a.language == "fr" for a in part) / len(part) for part in (pairs, beyond)]
    assert french[1] == pytest.approx(french[0], abs=0.1)


def _run(articles: int, seconds: float, cpu: dict[str, float], per_cpu: float) -> dict[str, Any]:
    return {
        "articles": articles,
        "enriched": articles,
        "not_enriched_outputs": 0,
        "seconds": seconds,
        "articles_per_s": round(articles / seconds, 2),
        "cpu_seconds": cpu,
        "window_seconds": seconds + 1.0,
        "other_processes_cores_busy": 0.1,
        "articles_per_worker_cpu_s": per_cpu,
        "nlp_process_busy": {k: cpu[k] / seconds for k in cpu if k.endswith("_nlp")},
    }


def test_pooled_runs_are_all_articles_over_all_seconds() -> None:
    runs = [
        _run(800, 40.0, {"w": 4.0, "w_nlp": 38.0, "broker": 2.0}, 20.0),
        _run(800, 60.0, {"w": 5.0, "w_nlp": 54.0}, 14.0),
    ]
    out = pooled(runs)
    assert out["articles_per_s"] == 16.0  # 1600 / 100 s, not the mean of 20 and 13.3
    assert out["cpu_seconds"] == {"w": 9.0, "w_nlp": 92.0, "broker": 2.0}
    assert out["nlp_process_busy"] == {"w_nlp": 0.92}
    assert out["rounds"] == [20.0, 13.33]
    assert out["articles_per_worker_cpu_s"] == 17.0


def test_the_checked_ratios_are_the_medians_of_the_rounds_ratios() -> None:
    def round_(order: str, a: float, b: float, c: float, a2: float) -> dict[str, Any]:
        return {
            "order": order,
            "a": {
                "articles": 800,
                "seconds": 800 / a,
                "articles_per_s": a,
                "articles_per_cpu_s": a,
                "minor_page_faults_per_article": 200,
                "other_processes_cores_busy": 0.05,
            },
            "a2": {"articles": 800, "seconds": 800 / a2, "articles_per_s": a2, "other_processes_cores_busy": 0.0},
            "b": _run(800, 800 / b, {"one_w0": 800 / b}, b),
            "c": _run(800, 800 / c, {"two_w0": 800 / c}, c / 2),
            "b_over_a": round(b / a, 3),
            "c_over_b": round(c / b, 3),
            "a2_over_a": round(a2 / a, 3),
        }

    rounds = [
        round_("a-a2-b-c", 20.0, 19.0, 33.0, 36.0),
        round_("c-b-a2-a", 15.0, 18.0, 30.0, 30.0),
        round_("a-a2-b-c", 21.0, 19.0, 34.0, 40.0),
    ]
    broker = {
        "rounds": rounds,
        "latency_half_rate": {"latency_ms": {"p99": 250}, "other_processes_cores_busy": 0.0},
        "peak_rss_mb": {"one_w0": 650, "two_w0": 640, "two_w1": 701},
        "peak_pss_mb": {"one_w0": 600, "two_w0": 590, "two_w1": 600},
        "broker_peak_rss_mb": 440,
    }
    inproc = {"baseline": {"other_processes_cores_busy": 0.0}}
    summary = summarise(800, inproc, {"articles_per_s": 2500}, broker)
    # per round b/a: 0.95, 1.2, 0.905 -> median 0.95; c/b: 1.737, 1.667, 1.789 -> 1.737
    assert summary["ratios"]["one_worker_over_baseline"] == 0.95
    assert summary["ratios"]["two_workers_over_one"] == 1.737
    assert summary["targets"]["one_worker_over_baseline"]["met"] is True
    assert summary["targets"]["two_workers_over_one"]["met"] is True
    assert summary["targets"]["worker_peak_rss_mb"] == {"value": 701, "target": "<= 700", "met": False}
    assert summary["a_baseline"]["rounds"] == [20.0, 15.0, 21.0]
    # the machine's own two-process scaling: a2/a 1.8, 2.0, 1.905 -> 1.905; c/b over it: 0.965, 0.8335, 0.939
    assert summary["ratios"]["two_raw_processes_over_one"] == 1.905
    assert summary["ratios"]["two_workers_over_one_share_of_ceiling"] == 0.939
    assert summary["ratios"]["two_workers_over_two_raw_processes"] == 0.917  # 0.917, 1.0, 0.85
    assert summary["a2_two_baselines"]["articles_per_s"] == round(2400 / (800 / 36 + 800 / 30 + 800 / 40), 2)


def test_the_texts_are_split_between_raw_processes_as_the_workers_get_them() -> None:
    articles = bench_articles(40)
    shares = split_like_the_workers(articles, 2)
    assert sorted(a.suffix for share in shares for a in share) == sorted(a.suffix for a in articles)
    chars = [sum(len(a.text) for a in share) for share in shares]
    assert abs(chars[0] - chars[1]) <= max(len(a.text) for a in articles) + 200


def test_the_long_article_ratios_are_pieces_over_whole() -> None:
    whole = {"total_s": 60.0, "spacy_s": 50.0, "peak_rss_growth_mb": 3000}
    pieces = {"total_s": 40.0, "spacy_s": 35.0, "peak_rss_growth_mb": 120}
    ratios = long_article_bench.summarise(whole, pieces)["ratios"]
    assert ratios == {
        "pieces_over_whole_total_s": 0.667,
        "pieces_over_whole_spacy_s": 0.7,
        "pieces_over_whole_peak_rss_growth": 0.04,
    }
