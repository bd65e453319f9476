"""How the first stage (validation and dedup) spreads unique articles over the unique topic (workers/balance.py)."""

from __future__ import annotations

import random

import pytest

from workers.balance import DEDUP_CHARS, PER_ARTICLE_CHARS, LeastLoaded


def test_equal_articles_go_round_the_partitions_in_turn() -> None:
    spread = LeastLoaded(4)
    assert [spread.pick(1000) for _ in range(8)] == [0, 1, 2, 3, 0, 1, 2, 3]


def test_a_long_article_is_balanced_by_short_ones_elsewhere() -> None:
    spread = LeastLoaded(2)
    assert spread.pick(3000) == 0
    # partition 1 takes short articles until it has as much text as partition 0
    assert [spread.pick(800) for _ in range(3)] == [1, 1, 1]
    assert spread.pick(800) == 1  # 4 * 1000 > 3200: now past partition 0
    assert spread.pick(800) == 0


def test_loads_stay_within_one_article_of_each_other() -> None:
    rng = random.Random(8)
    lengths = [rng.choice((300, 900, 1500, 4000, 9000)) + rng.randrange(200) for _ in range(800)]
    spread = LeastLoaded(2)
    for length in lengths:
        spread.pick(length)
    heaviest = max(lengths) + PER_ARTICLE_CHARS
    assert max(spread.loads) - min(spread.loads) <= heaviest
    assert sum(spread.loads) == sum(lengths) + len(lengths) * PER_ARTICLE_CHARS

    # what taking partitions in turn would have done with the same texts
    in_turn = [sum(lengths[0::2]), sum(lengths[1::2])]
    assert max(spread.loads) - min(spread.loads) < abs(in_turn[0] - in_turn[1])


def test_an_empty_text_still_counts_as_an_article() -> None:
    spread = LeastLoaded(2)
    assert [spread.pick(0), spread.pick(0), spread.pick(-5)] == [0, 1, 0]
    assert spread.loads == [2 * PER_ARTICLE_CHARS, PER_ARTICLE_CHARS]


def test_a_topic_needs_a_partition() -> None:
    with pytest.raises(ValueError, match="partitions must be >= 1"):
        LeastLoaded(0)


def test_the_worker_that_runs_dedup_gets_less_ner_by_what_dedup_costs_it() -> None:
    """Two workers, two partitions each; the one with partitions 0 and 1 also dedups every article."""
    spread = LeastLoaded(4)
    picked = [0, 0, 0, 0]
    for _ in range(1600):
        picked[spread.pick(1750)] += 1
        spread.charge([0, 1], DEDUP_CHARS)
    dedup_worker, other = picked[0] + picked[1], picked[2] + picked[3]
    assert dedup_worker + other == 1600
    # the first stage's 1,600 * DEDUP_CHARS characters, in articles of 1,750 + 200
    moved = 1600 * DEDUP_CHARS / (1750 + PER_ARTICLE_CHARS)
    assert other - dedup_worker == pytest.approx(moved, abs=2)
    assert abs(picked[0] - picked[1]) <= 1 and abs(picked[2] - picked[3]) <= 1


def test_charging_no_partition_changes_nothing() -> None:
    spread = LeastLoaded(2)
    spread.charge([], DEDUP_CHARS)  # the dedup worker holds none of the unique partitions
    assert spread.loads == [0, 0]
    spread.charge([0, 1], 100)  # it holds them all: the same for each
    assert [spread.pick(1000) for _ in range(4)] == [0, 1, 0, 1]
