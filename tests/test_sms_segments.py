"""
Segmenting SMS texts: GSM-7 against UCS-2, the extension table, splitting
at word boundaries.
"""

from mcc.routing.segments import GSM7, UCS2, encoding, segments, split, units


def test_gsm7_and_ucs2():
    assert encoding("Hello, Zoé! £5 @ 10:00") == GSM7
    assert encoding("Cześć") == UCS2
    assert encoding("thanks 👍") == UCS2


def test_extended_characters_count_twice():
    assert units("[a]") == 5
    assert units("€") == 2
    assert segments("a" * 160) == 1
    assert segments("a" * 159 + "€") == 2
    assert segments("a" * 161) == 2
    assert segments("a" * 306) == 2
    assert segments("a" * 307) == 3


def test_ucs2_limits_and_surrogates():
    assert segments("ł" * 70) == 1
    assert segments("ł" * 71) == 2
    assert segments("ł" * 134) == 2
    assert units("👍") == 2


def test_split_at_word_boundaries_one_segment_each():
    words = (f"word{n:03d}" for n in range(70))
    text = " ".join(words)  # 70 * 8 - 1 = 559 characters
    parts = split(text)
    assert " ".join(parts) == text
    assert all(len(part) <= 160 and segments(part) == 1 for part in parts)
    assert len(parts) == 4
    assert all(not part.startswith(" ") and not part.endswith(" ") for part in parts)


def test_split_ucs2_parts_of_70_and_long_words_cut():
    parts = split("ł" * 150)
    assert [len(part) for part in parts] == [70, 70, 10]
    parts = split("ok " + "ż" * 80)
    assert parts == ["ok", "ż" * 70, "ż" * 10]


def test_short_text_is_one_part():
    assert split("  Hi there ") == ["Hi there"]
    assert split("") == []
