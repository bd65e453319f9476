"""Exact and near-duplicate detection (content hash + MinHash LSH)."""

from __future__ import annotations

from .fingerprint import Boilerplate, content_hash, fingerprint_text, shingles, words
from .index import DedupConfig, Deduplicator, DedupState, Verdict

__all__ = [
    "Boilerplate",
    "DedupConfig",
    "DedupState",
    "Deduplicator",
    "Verdict",
    "content_hash",
    "fingerprint_text",
    "shingles",
    "words",
]
