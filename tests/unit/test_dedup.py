"""Dedup: exact and near duplicates, clusters, expiry, state in plain mappings."""

from __future__ import annotations

import hashlib
from pathlib import Path

from workers.dedup import DedupConfig, Deduplicator, DedupState, fingerprint_text
from workers.dedup.fingerprint import shingles
from workers.normalise import normalise_article

SEED = Path(__file__).parents[2] / "seeds" / "afp-2016-04-alep-fr.txt"
TEXT = normalise_article(article_id="seed", body=SEED.read_text("utf-8")).text
OTHER = (
    "Heavy fighting broke out on Tuesday around the town of Bakhmut in eastern Ukraine, where Ukrainian "
    "troops said they repelled several assaults. The regional governor reported two civilians killed by "
    "shelling. Kyiv asked its allies for more air defence systems ahead of the winter."
)


def make(window: float = 3600.0) -> Deduplicator:
    return Deduplicator(DedupConfig(window_seconds=window), DedupState.in_memory())


def test_first_article_is_new_and_exact_copy_is_exact() -> None:
    d = make()
    assert d.check("a", TEXT, 0).duplicate_of is None
    verdict = d.check("b", TEXT, 1)
    assert (verdict.duplicate_of, verdict.method, verdict.similarity) == ("a", "exact", 1.0)


def test_boilerplate_case_and_whitespace_do_not_hide_an_exact_copy() -> None:
    d = make()
    d.check("a", TEXT, 0)
    republished = "  " + TEXT.upper().replace(" ", "   ") + "\n\n(Avec AFP)\n\nReporting by Jane Doe; Editing by Tom"
    assert d.check("b", republished, 1).method == "exact"


def test_small_edits_are_a_near_duplicate() -> None:
    d = make()
    d.check("a", TEXT, 0)
    edited = TEXT.replace("Genève", "Lausanne").replace("mercredi", "jeudi").replace("sept semaines", "deux mois")
    verdict = d.check("b", edited, 1)
    assert verdict.duplicate_of == "a" and verdict.method == "near"
    assert 0.7 <= verdict.similarity < 1.0


def test_different_story_is_not_a_duplicate() -> None:
    d = make()
    d.check("a", TEXT, 0)
    assert d.check("b", OTHER, 1).duplicate_of is None


def test_copy_of_a_copy_points_to_the_first_article_of_the_cluster() -> None:
    d = make()
    d.check("a", TEXT, 0)
    d.check("b", TEXT.replace("Genève", "Lausanne"), 1)
    verdict = d.check("c", TEXT.replace("Genève", "Lausanne") + "\n\nLire aussi: notre dossier", 2)
    assert verdict.duplicate_of == "a"


def test_entries_expire_after_the_window_and_purge_frees_them() -> None:
    d = make(window=100.0)
    d.check("a", TEXT, 0)
    assert d.check("b", TEXT, 50).duplicate_of == "a"
    assert d.check("c", TEXT, 1000).duplicate_of is None  # both earlier entries are stale
    removed = d.purge(now=1000)
    assert removed > 0
    assert set(d.state.signatures) == {"c"}


def test_same_id_resent_is_not_its_own_duplicate_but_state_is_shared() -> None:
    """State is only the mappings: a second Deduplicator over them knows what the first saw."""
    state = DedupState.in_memory()
    Deduplicator(DedupConfig(), state).check("a", TEXT, 0)
    assert Deduplicator(DedupConfig(), state).check("b", TEXT, 1).duplicate_of == "a"
    assert Deduplicator(DedupConfig(), state).check("a", TEXT, 2).duplicate_of is None


def test_fingerprint_drops_boilerplate_and_folds_accents() -> None:
    assert fingerprint_text("L'Élysée dément.\n\n(Avec AFP)\n\n© 2024 AFP") == "l elysee dement"


def test_near_duplicate_record_serialises_with_orjson() -> None:
    """The similarity is a plain float: the duplicates message must encode (numpy floats do not)."""
    import orjson

    from topics.records import Article
    from workers.pipeline import Pipeline

    d = make()
    Pipeline.dedup(d, Article(id="a", text=TEXT), now=0)
    duplicate = Pipeline.dedup(d, Article(id="b", text=TEXT.replace("Genève", "Lausanne")), now=1)
    assert duplicate is not None and duplicate.method == "near"
    assert type(duplicate.similarity) is float
    assert orjson.loads(orjson.dumps(duplicate.to_value()))["similarity"] == duplicate.similarity


def test_band_index_is_rebuilt_from_the_signatures_alone() -> None:
    """After a restart only exact + signatures come back (changelogs); the LSH buckets are recomputed."""
    state = DedupState.in_memory()
    Deduplicator(DedupConfig(), state).check("a", TEXT, 0)
    durable = DedupState(exact=dict(state.exact), signatures=dict(state.signatures))  # bands lost
    restarted = Deduplicator(DedupConfig(), durable)
    assert restarted.rebuild_bands(now=1) == 1
    assert restarted.state.bands == state.bands
    verdict = restarted.check("b", TEXT.replace("Genève", "Lausanne"), 2)
    assert (verdict.duplicate_of, verdict.method) == ("a", "near")


def test_rebuild_skips_expired_signatures() -> None:
    state = DedupState.in_memory()
    d = Deduplicator(DedupConfig(window_seconds=10), state)
    d.check("a", TEXT, 0)
    assert d.rebuild_bands(now=100) == 0
    assert state.bands == {}


def _joined_shingles(fingerprint: str, size: int) -> list[bytes]:
    """The plain definition: every run of ``size`` words, joined again."""
    tokens = fingerprint.split(" ")
    if len(tokens) <= size:
        return [fingerprint.encode("utf-8")]
    return [" ".join(tokens[i : i + size]).encode("utf-8") for i in range(len(tokens) - size + 1)]


def test_shingles_are_the_word_runs_of_the_fingerprint() -> None:
    texts = [
        "",
        "un",
        "un deux trois quatre cinq",  # exactly five words: the whole text
        "un deux trois quatre cinq six",
        "Алеппо обстреляли 14 апреля, сообщает агентство; حلب تحت القصف منذ الصباح 東京 2016",
        SEED.read_text("utf-8"),
    ]
    for text in texts:
        fingerprint = fingerprint_text(text)
        for size in (1, 2, 5):
            assert shingles(fingerprint, size) == _joined_shingles(fingerprint, size), (text[:30], size)


def test_the_signature_of_the_seed_article_is_unchanged() -> None:
    """Signatures are persisted in the dedup tables: a change in how they are computed must not go unnoticed.

    The digest was taken with the shingles built by joining words again (before they became slices).
    """
    text = SEED.read_text("utf-8")
    signature = Deduplicator(DedupConfig(), DedupState.in_memory()).signature(fingerprint_text(text))
    digest = hashlib.sha256(signature.tobytes()).hexdigest()
    assert digest == "114d97e832cf930128837fa3c5ede6029f204f471ff6b314a624151f6b9c0c29"
