# -*- test-case-name: tests.test_admin -*-
"""
The admin site's look: Jinja2 templates from C{templates/admin} (see
L{mcc.resources}), and the one stylesheet and one script the pages load.
"""

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from mcc import resources

TEMPLATES = resources.TEMPLATES / "admin"

ASSETS = {
    "admin.css": b"text/css; charset=utf-8",
    "admin.js": b"text/javascript; charset=utf-8",
    "favicon.svg": b"image/svg+xml",
}


class Pages:
    def __init__(self, directory=TEMPLATES):
        self._environment = Environment(
            loader=FileSystemLoader(directory),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._environment.filters["sentence"] = sentence
        self.assets = {
            name: ((directory / "static" / name).read_bytes(), content_type)
            for name, content_type in ASSETS.items()
        }

    def render(self, template, **context):
        return self._environment.get_template(template).render(**context).encode("utf-8")


def sentence(message):
    """
    A rule's message ("a queue needs a name") as a sentence for a page.

    A message ending in a symbol, as a list of forbidden characters does,
    gets no full stop: it would read as one more of them.
    """
    text = str(message)
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return f"{text}." if _ends_in_a_word(text) else text


def _ends_in_a_word(text):
    """
    Whether C{text} ends in a letter or digit, perhaps quoted or bracketed.
    """
    return text.rstrip("'\")]")[-1:].isalnum()
