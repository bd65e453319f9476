"""Quality gate: the figures the README promises on the development set do not regress.

Runs the same code path as `wirewatch eval seeds/eval`. The held-out set
(seeds/holdout) is deliberately not gated: it is for honest reporting only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.evaluation import EvalReport, load_dataset, score
from workers.pipeline import Pipeline, RawRecord
from workers.settings import Settings

DEV = Path(__file__).resolve().parents[2] / "seeds" / "eval"


@pytest.fixture(scope="module")
def report() -> EvalReport:
    data = load_dataset(DEV)
    pipeline = Pipeline(Settings())
    return score(data, [m.to_value() for m in pipeline.run(RawRecord(line) for line in data.raw_lines)])


def test_alert_f1_and_hedged_accuracy_meet_the_targets(report: EvalReport) -> None:
    by_type = {s.type: s for s in report.alerts.per_type}
    assert by_type["ceasefire_violation"].f1 >= 0.90
    assert by_type["airstrike"].f1 >= 0.85
    assert by_type["ground_offensive"].f1 >= 0.85
    assert report.alerts.total.hedged_accuracy >= 0.85


def test_dedup_pairwise_precision_and_recall(report: EvalReport) -> None:
    assert report.dedup.precision >= 0.98
    assert report.dedup.recall >= 0.95


def test_entity_recall_and_language_accuracy(report: EvalReport) -> None:
    assert report.entities.recall >= 0.90
    assert report.language.accuracy >= 0.97
