"""Dedup: exact and near duplicates, clusters, expiry, state in plain mappings."""

from __future__ import annotations

import hashlib
from pathlib import Path

from workers.dedup import DedupConfig, Deduplicator, DedupState, content_hash, fingerprint_text
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


def restart(state: DedupState, config: DedupConfig | None = None, now: float = 0.0) -> Deduplicator:
    """What a restarted or moved worker has: a copy of the signatures (the changelog), indexes rebuilt."""
    durable = DedupState(signatures={k: list(v) for k, v in state.signatures.items()})  # exact + bands lost
    restarted = Deduplicator(config or DedupConfig(), durable)
    restarted.rebuild_index(now)
    return restarted


def test_the_signatures_are_the_only_durable_state_and_carry_the_digest() -> None:
    state = DedupState.in_memory()
    d = Deduplicator(DedupConfig(), state)
    d.check("a", TEXT, 0)
    d.check("b", TEXT.replace("Genève", "Lausanne"), 1)  # near: recorded under a
    d.check("c", TEXT, 2)  # exact: not recorded
    assert set(state.signatures) == {"a", "b"}
    digest = content_hash(fingerprint_text(TEXT))
    assert state.signatures["a"][0] == "a" and state.signatures["a"][1] == 0 and state.signatures["a"][3] == digest
    assert state.signatures["b"][0] == "a" and state.signatures["b"][3] != digest
    assert state.exact[digest] == ["a", 0]  # in memory, set by _record at once


def test_index_is_rebuilt_from_the_signatures_alone() -> None:
    """After a restart only the signatures come back (changelog); the exact index and LSH buckets are recomputed."""
    state = DedupState.in_memory()
    Deduplicator(DedupConfig(), state).check("a", TEXT, 0)
    durable = DedupState(signatures=dict(state.signatures))  # exact + bands lost
    restarted = Deduplicator(DedupConfig(), durable)
    assert restarted.rebuild_index(now=1) == 1
    assert restarted.state.bands == state.bands
    assert restarted.state.exact == state.exact
    verdict = restarted.check("b", TEXT, 2)
    assert (verdict.duplicate_of, verdict.method, verdict.similarity) == ("a", "exact", 1.0)
    verdict = restarted.check("c", TEXT.replace("Genève", "Lausanne"), 3)
    assert (verdict.duplicate_of, verdict.method) == ("a", "near")


def test_after_a_restart_exact_copies_are_exact_and_near_copies_near() -> None:
    state = DedupState.in_memory()
    d = Deduplicator(DedupConfig(), state)
    assert d.check("a", TEXT, 0).duplicate_of is None
    assert d.check("o", OTHER, 1).duplicate_of is None
    assert d.check("a2", TEXT.replace("Genève", "Lausanne"), 2).method == "near"
    built = {k: list(v) for k, v in state.exact.items()}, {k: [list(e) for e in v] for k, v in state.bands.items()}

    restarted = restart(state, now=3)
    assert (restarted.state.exact, restarted.state.bands) == built  # what _record had built
    republished = TEXT + "\n\n(Avec AFP)"
    for article_id, text, expected in [
        ("b", republished, ("a", "exact")),
        ("c", OTHER, ("o", "exact")),
        ("d", TEXT.replace("Genève", "Lausanne"), ("a", "exact")),  # the digest of a2, recorded under a
        ("e", TEXT.replace("mercredi", "jeudi"), ("a", "near")),
        ("f", OTHER.replace("Tuesday", "Wednesday"), ("o", "near")),
    ]:
        verdict = restarted.check(article_id, text, 4)
        assert (verdict.duplicate_of, verdict.method) == expected, article_id
    assert restarted.check("g", "A short note about the weather in Lyon, nothing else.", 5).duplicate_of is None


def test_an_entry_written_before_the_digest_still_works_for_near_copies() -> None:
    """A 3-element entry (no digest) loads and is indexed; its exact copy is then a near duplicate of 1.0."""
    state = DedupState.in_memory()
    Deduplicator(DedupConfig(), state).check("old", TEXT, 0)
    legacy = DedupState(signatures={"old": state.signatures["old"][:3]})
    d = Deduplicator(DedupConfig(), legacy)
    assert d.rebuild_index(now=1) == 1
    assert legacy.exact == {} and legacy.bands == state.bands
    verdict = d.check("copy", TEXT, 2)
    assert (verdict.duplicate_of, verdict.method, verdict.similarity) == ("old", "near", 1.0)
    assert legacy.signatures["copy"][0] == "old" and len(legacy.signatures["copy"]) == 4
    # the copy was recorded with its digest: the next copy is exact again, of the same cluster
    verdict = d.check("copy2", TEXT, 3)
    assert (verdict.duplicate_of, verdict.method) == ("old", "exact")
    edited = d.check("edited", TEXT.replace("Genève", "Lausanne"), 4)
    assert (edited.duplicate_of, edited.method) == ("old", "near")
    assert d.purge(now=8 * 24 * 3600) == 3 and legacy.signatures == {}  # legacy entries age out like the others


def test_purge_removes_stale_entries_from_the_exact_index_too() -> None:
    state = DedupState.in_memory()
    d = Deduplicator(DedupConfig(window_seconds=100.0), state)
    d.check("a", TEXT, 0)
    d.check("o", OTHER, 150)
    assert d.purge(now=150) == 1  # the durable entries removed: a's signature
    assert set(state.signatures) == {"o"}
    assert [v[0] for v in state.exact.values()] == ["o"]
    assert all(e[0] == "o" for bucket in state.bands.values() for e in bucket)
    # Over the same state with a wider window, only what purge left can be found:
    # an exact copy of the purged article is new, one of the kept article exact.
    wide = Deduplicator(DedupConfig(window_seconds=10_000.0), state)
    assert wide.check("b", TEXT, 151).duplicate_of is None
    assert (wide.check("p", OTHER, 152).method, state.exact[content_hash(fingerprint_text(TEXT))][0]) == ("exact", "b")


def test_rebuild_keeps_the_first_root_for_a_digest_like_record_does() -> None:
    """The first fresh article with a content keeps its digest, in _record and in the rebuild alike."""
    config = DedupConfig(window_seconds=100.0)
    state = DedupState.in_memory()
    d = Deduplicator(config, state)
    digest = content_hash(fingerprint_text(TEXT))
    d.check("a", TEXT, 0)
    d.check("b", TEXT + "\n\n(Avec AFP)", 10)  # exact: a keeps the digest
    d.check("c", TEXT.replace("Genève", "Lausanne"), 20)  # near, recorded under a with its own digest
    assert state.exact[digest] == ["a", 0]
    assert restart(state, config, now=30).state.exact == state.exact

    # Two signatures with one digest under two roots (a copy recorded under its own
    # root, as a changelog may hold): the oldest fresh one is the entry.
    state.signatures["z"] = ["z", 50, state.signatures["a"][2], digest]
    assert restart(state, config, now=60).state.exact[digest] == ["a", 0]
    assert restart(state, config, now=60).check("x", TEXT, 61).duplicate_of == "a"
    # once a has aged out, z's entry (fresh) takes the digest over, as _record would have
    later = restart(state, config, now=120)
    assert later.state.exact[digest] == ["z", 50]
    assert later.check("x", TEXT, 121).duplicate_of == "z"


def test_rebuild_replays_the_oldest_first_whatever_the_mapping_order() -> None:
    state = DedupState.in_memory()
    d = Deduplicator(DedupConfig(), state)
    d.check("m", TEXT, 5)
    digest = content_hash(fingerprint_text(TEXT))
    signature = state.signatures["m"][2]
    # inserted newest first: a plain dict iterates in insertion order
    shuffled = {"n": ["n", 9, signature, digest], "m": ["m", 5, signature, digest], "k": ["k", 7, signature, digest]}
    restarted = Deduplicator(DedupConfig(), DedupState(signatures=shuffled))
    assert restarted.rebuild_index(now=10) == 3
    assert restarted.state.exact == {digest: ["m", 5]}
    assert [e[0] for e in next(iter(restarted.state.bands.values()))] == ["m", "k", "n"]


def test_rebuild_skips_expired_signatures() -> None:
    state = DedupState.in_memory()
    d = Deduplicator(DedupConfig(window_seconds=10), state)
    d.check("a", TEXT, 0)
    assert d.rebuild_index(now=100) == 0
    assert state.bands == {} and state.exact == {}


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
    """Signatures are persisted in the dedup table: a change in how they are computed must not go unnoticed.

    The digest was taken with the shingles built by joining words again (before they became slices).
    """
    text = SEED.read_text("utf-8")
    signature = Deduplicator(DedupConfig(), DedupState.in_memory()).signature(fingerprint_text(text))
    digest = hashlib.sha256(signature.tobytes()).hexdigest()
    assert digest == "114d97e832cf930128837fa3c5ede6029f204f471ff6b314a624151f6b9c0c29"
