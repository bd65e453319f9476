"""Exact and near-duplicate detection over state kept in plain mappings.

The durable state is one ``MutableMapping`` so that the same code runs on a
dict (the one-process ``enrich`` and the tests) and on a Faust table backed by
a changelog topic (the worker, where a restarted or moved worker gets it back):

* ``signatures``: article id -> ``[root_id, seen_at, signature (base64 uint32s), digest]``

where ``digest`` is the content hash of the article's fingerprint. Everything
else is derived from the signatures, lives in memory only and is recomputed by
``rebuild_index()`` after a restart or a rebalance:

* ``exact``: digest -> ``[root_id, seen_at]``, the first fresh article with that
  content (the exact-copy fast path);
* ``bands``: ``"<band>:<band hash>"`` -> ``[[article_id, seen_at], ...]``, the LSH buckets.

So a unique article costs one changelog record, not one per mapping: writing
the buckets would cost one Kafka message per band per article (14 at the
default threshold), and the exact index one more, for state that can be
recomputed in a few seconds per hundred thousand articles (the exact index adds
under a tenth to the buckets' cost).

Entries written before the digest was stored have 3 elements
(``[root_id, seen_at, signature]``; the content hashes were then in a table of
their own, no longer read). They load and serve near-duplicate detection as
before but add nothing to the exact index: the first exact copy of such an
article is reported as a near duplicate with similarity 1.0 (of the same
cluster), and is recorded with its digest, so the copies after it are exact
again. Old entries age out of the window like any other.

MinHash signatures come from datasketch, and so do the LSH band/row split for
the configured threshold (``MinHashLSH``'s false-positive/negative optimum).
The buckets are ours because they have to live in those mappings. A candidate
from a bucket is confirmed by the estimated Jaccard similarity of the two
signatures, so a bucket collision alone never marks a duplicate.

Every entry carries ``seen_at``; lookups ignore entries older than the window
and ``purge()`` deletes them, so state stays bounded.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections import Counter
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from datasketch import MinHash, MinHashLSH

from .fingerprint import Boilerplate, content_hash, fingerprint_text, shingles

__all__ = ["DedupConfig", "DedupState", "Deduplicator", "Verdict"]

_SEED = 1  # fixed: signatures must agree across processes and restarts
_MAX_BUCKET = 32  # newest entries kept per LSH bucket; bounds pathological buckets
_MAX_CONFIRM = 4  # candidates confirmed per article, those sharing the most bands first


@dataclass(frozen=True, slots=True)
class DedupConfig:
    num_perm: int = 128
    threshold: float = 0.7
    shingle_words: int = 5
    window_seconds: float = 7 * 24 * 3600.0


@dataclass(slots=True)
class DedupState:
    signatures: MutableMapping[str, Any]  # the durable state
    exact: dict[str, list[Any]] = field(default_factory=dict)  # derived, in memory
    bands: dict[str, list[list[Any]]] = field(default_factory=dict)  # derived, in memory

    @classmethod
    def in_memory(cls) -> DedupState:
        return cls(signatures={})


@dataclass(frozen=True, slots=True)
class Verdict:
    """``duplicate_of`` is None for a new article."""

    duplicate_of: str | None
    method: str | None = None  # "exact" | "near"
    similarity: float = 0.0


class Deduplicator:
    def __init__(self, config: DedupConfig, state: DedupState, boilerplate: Boilerplate | None = None):
        self.config = config
        self.state = state
        self.boilerplate = boilerplate or Boilerplate.packaged()
        lsh = MinHashLSH(threshold=config.threshold, num_perm=config.num_perm)
        self.bands, self.rows = lsh.b, lsh.r
        # Build the permutations once; each article copies this empty sketch.
        # crc32: stable across processes (unlike hash()) and several times faster
        # than datasketch's default sha1; MinHash's own permutations spread the values.
        self._empty = MinHash(num_perm=config.num_perm, seed=_SEED, hashfunc=zlib.crc32)

    # -- pure helpers -------------------------------------------------------
    def signature(self, fingerprint: str) -> np.ndarray:
        sketch = self._empty.copy()
        sketch.update_batch(shingles(fingerprint, self.config.shingle_words))
        return np.asarray(sketch.hashvalues, dtype=np.uint32)

    def band_keys(self, signature: np.ndarray) -> list[str]:
        r = self.rows
        return [
            f"{i}:{hashlib.blake2b(signature[i * r : (i + 1) * r].tobytes(), digest_size=8).hexdigest()}"
            for i in range(self.bands)
        ]

    @staticmethod
    def _encode(signature: np.ndarray) -> str:
        return base64.b64encode(signature.astype("<u4").tobytes()).decode("ascii")

    @staticmethod
    def _decode(data: str) -> np.ndarray:
        return np.frombuffer(base64.b64decode(data), dtype="<u4")

    def _fresh(self, seen_at: float, now: float) -> bool:
        return now - seen_at <= self.config.window_seconds

    # -- the one operation ----------------------------------------------------
    def check(self, article_id: str, text: str, now: float) -> Verdict:
        """Is ``text`` a copy of something seen within the window? Records it either way.

        A copy is recorded too (under its cluster's first article), so a later
        copy of the copy still finds the cluster.
        """
        fingerprint = fingerprint_text(text, self.boilerplate)
        digest = content_hash(fingerprint)
        known = self.state.exact.get(digest)
        if known is not None and self._fresh(known[1], now) and known[0] != article_id:
            return Verdict(duplicate_of=str(known[0]), method="exact", similarity=1.0)

        signature = self.signature(fingerprint)
        keys = self.band_keys(signature)
        best_id, best_sim = None, 0.0
        shared: Counter[str] = Counter()
        for key in keys:
            for cand_id, seen_at in self.state.bands.get(key, ()):
                if cand_id != article_id and self._fresh(seen_at, now):
                    shared[cand_id] += 1
        # Ties broken by id so the result does not depend on bucket order.
        ranked = sorted(shared.items(), key=lambda item: (-item[1], item[0]))[:_MAX_CONFIRM]
        for cand_id, _hits in ranked:
            entry = self.state.signatures.get(cand_id)
            if entry is None:
                continue
            similarity = float(np.count_nonzero(self._decode(entry[2]) == signature)) / len(signature)
            if similarity > best_sim:
                best_id, best_sim = str(entry[0]), similarity

        if best_id is not None and best_sim >= self.config.threshold:
            verdict = Verdict(duplicate_of=best_id, method="near", similarity=round(float(best_sim), 4))
            root = best_id
        else:
            verdict = Verdict(duplicate_of=None)
            root = article_id
        self._record(article_id, root, digest, signature, keys, now)
        return verdict

    def _record(
        self, article_id: str, root: str, digest: str, signature: np.ndarray, keys: list[str], now: float
    ) -> None:
        self.state.signatures[article_id] = [root, now, self._encode(signature), digest]  # the one durable write
        self._index_exact(digest, root, now)
        for key in keys:
            bucket = [e for e in self.state.bands.get(key, ()) if e[0] != article_id and self._fresh(e[1], now)]
            bucket.append([article_id, now])
            self.state.bands[key] = bucket[-_MAX_BUCKET:]

    def _index_exact(self, digest: str, root: str, seen_at: float) -> None:
        """The first fresh article with this content stays the entry (checked as of ``seen_at``)."""
        known = self.state.exact.get(digest)
        if known is None or not self._fresh(known[1], seen_at):
            self.state.exact[digest] = [root, seen_at]

    def rebuild_index(self, now: float) -> int:
        """Recompute the in-memory exact index and LSH buckets from the signatures.

        Entries are replayed oldest first, as ``_record`` saw them; stale ones are
        skipped, and one without a digest (written before it was stored) goes to
        the buckets only. Returns how many signatures were indexed.

        The one thing the signatures cannot replay: an id recorded twice (a
        record delivered again) keeps only its last entry, so its digest's
        exact entry comes back with that later ``seen_at``.
        """
        self.state.exact.clear()
        self.state.bands.clear()
        entries = sorted(
            ((entry[1], article_id, entry) for article_id, entry in self.state.signatures.items()),
            key=lambda item: (item[0], item[1]),
        )
        indexed = 0
        for seen_at, article_id, entry in entries:  # oldest first, as they were recorded
            if not self._fresh(seen_at, now):
                continue
            if len(entry) > 3 and entry[3]:
                self._index_exact(str(entry[3]), str(entry[0]), seen_at)
            for key in self.band_keys(self._decode(entry[2])):
                bucket = self.state.bands.setdefault(key, [])
                bucket.append([article_id, seen_at])
                if len(bucket) > _MAX_BUCKET:
                    del bucket[0]
            indexed += 1
        return indexed

    def purge(self, now: float) -> int:
        """Delete entries older than the window; returns how many signatures (durable entries) were removed."""
        stale = [k for k, v in self.state.signatures.items() if not self._fresh(v[1], now)]
        for key in stale:
            del self.state.signatures[key]
        for digest in [k for k, v in self.state.exact.items() if not self._fresh(v[1], now)]:
            del self.state.exact[digest]
        for key, bucket in list(self.state.bands.items()):
            kept = [e for e in bucket if self._fresh(e[1], now)]
            if not kept:
                del self.state.bands[key]
            elif len(kept) != len(bucket):
                self.state.bands[key] = kept
        return len(stale)
