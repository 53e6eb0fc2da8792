# -*- test-case-name: tests.test_sms_segments -*-
"""
How a text is cut into SMS segments.  A segment holds 160 characters of
the GSM 03.38 alphabet (GSM-7), or 70 UTF-16 code units (UCS-2) as soon as
one character is outside it; a concatenated message loses room in each
segment to its header: 153 and 67.  The characters of GSM-7's extension
table take an escape and so count twice.
"""

GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = set("^{}\\[~]|€\f")
GSM7 = "GSM-7"
UCS2 = "UCS-2"
SINGLE = {GSM7: 160, UCS2: 70}
CONCATENATED = {GSM7: 153, UCS2: 67}


def encoding(text):
    """
    L{GSM7} when every character of C{text} is in the GSM alphabet, else L{UCS2}.
    """
    if all(c in GSM_BASIC or c in GSM_EXTENDED for c in text):
        return GSM7
    return UCS2


def units(text, coding=None):
    """
    The room C{text} takes in its encoding: septets, or UTF-16 code units.
    """
    coding = coding or encoding(text)
    if coding == GSM7:
        return sum(2 if c in GSM_EXTENDED else 1 for c in text)
    return len(text.encode("utf-16-le")) // 2


def segments(text):
    """
    How many segments C{text} costs sent whole (the provider concatenates).
    """
    coding = encoding(text)
    size = units(text, coding)
    if size <= SINGLE[coding]:
        return 1
    return -(-size // CONCATENATED[coding])


def texts(text, concatenate=False):
    """
    How many texts a reply of C{text} costs: its parts as L{split} cuts
    them, or its segments when the provider concatenates.  The web client
    shows this before a reply is sent.
    """
    if not text.strip():
        return 0
    return segments(text.strip()) if concatenate else len(split(text))


def fits(text):
    return units(text) <= SINGLE[encoding(text)]


def split(text):
    """
    C{text} cut at word boundaries into parts of one segment each (each
    part in its own encoding), a word too long for one cut where it must.
    """
    text = text.strip()
    if fits(text):
        return [text] if text else []
    parts = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if fits(candidate):
            current = candidate
            continue
        if current:
            parts.append(current)
        current = ""
        while word and not fits(word):
            cut = _longest_fitting(word)
            parts.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        parts.append(current)
    return [part.strip() for part in parts if part.strip()]


def _longest_fitting(word):
    cut = 1
    while cut < len(word) and fits(word[: cut + 1]):
        cut += 1
    return cut
