"""Name normalisation: display forms for canonical names and folded lookup keys.

Two functions with two purposes. ``clean_name`` repairs a surface form for
display (collapsed whitespace, "al- Assad" -> "al-Assad", typographic
apostrophes); ``fold`` turns a name into the key of every dictionary lookup
(accents stripped, case folded, hyphens and apostrophes unified), so "Etats-Unis",
"États-Unis" and "ETATS UNIS" meet on one key.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["clean_name", "fold", "is_acronym", "spelling_variants"]

_SPACES = re.compile(r"\s+")
# "al- Assad", "Al -Qaïda": a hyphen with a stray space on one side, between letters
_LOOSE_HYPHEN = re.compile(r"(?<=\w)\s*([-‐‑])\s*(?=\w)")
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "‘": "'", "`": "'", "´": "'"})
# everything that separates words in a lookup key: spaces, hyphens, dashes, dots, apostrophes
_KEY_SEPARATORS = re.compile(r"[\s\-'.‐‑‒–—’ʼ‘`´]+")
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


# Both are pure and meet the same few thousand names over and over (every span,
# every lookup): cached, they cost a dictionary lookup. A bounded cache: a flood
# of distinct names only evicts.
_CACHED_NAMES = 1 << 15


@lru_cache(maxsize=_CACHED_NAMES)
def clean_name(text: str) -> str:
    """The display form of a name: single spaces, tight hyphens, plain apostrophes."""
    text = text.translate(_APOSTROPHES)
    text = _SPACES.sub(" ", text).strip()
    return _LOOSE_HYPHEN.sub(r"\1", text)


@lru_cache(maxsize=_CACHED_NAMES)
def fold(text: str) -> str:
    """The lookup key of a name: no accents, case folded, hyphen/dot/apostrophe as space."""
    if not text.isascii():
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    return " ".join(part for part in _KEY_SEPARATORS.split(text.casefold()) if part)


def is_acronym(alias: str) -> bool:
    """Short all-capital aliases ("EI", "UE", "ONU", "M23") are matched case-sensitively."""
    letters = [ch for ch in alias if ch.isalpha()]
    return bool(letters) and len(alias) <= 6 and " " not in alias and all(ch.isupper() for ch in letters)


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def spelling_variants(alias: str) -> list[str]:
    """``alias`` and the spellings a text may use for it: without accents, with a curly apostrophe.

    The phrase matcher compares tokens, not folded keys, so "Etats-Unis" and
    "d’Ivoire" need patterns of their own.
    """
    variants = dict.fromkeys([alias, _strip_accents(alias)])
    for v in list(variants):
        if "'" in v:
            variants[v.replace("'", "’")] = None
    return list(variants)
