# -*- test-case-name: tests.test_widget_public -*-
"""
The code an admin pastes into a website for a snippet.  It names the
snippet by its public key only: what it shows is fetched when the page
loads, so later edits in the admin site reach published pages.
"""

from html import escape

NO_JAVASCRIPT_FRAME = "width:100%;height:6em;border:0"
CHAT_FRAME = "width:380px;max-width:100%;height:560px;border:0"
FALLBACK_WORDS = {"title": "Chat", "text_launcher": "Chat with us"}
"""
The code's words for a snippet without service levels, so without a skin.
"""


def chat_url(base_url, snippet):
    """
    The snippet's chat page: the direct chat URL, and the pop-up window.
    """
    return f"{base_url}/widget/{snippet.key}/chat"


def generated_code(base_url, snippet, skin=None):
    """
    For a direct chat URL, a link to it; for the other widget types, a
    container element, one async script tag and a C{<noscript>} frame
    showing the No JavaScript contingency.

    @param skin: the settings of the skin visitors see first, whose words
        the code uses (the link's text, the frame's title); C{None} for
        L{FALLBACK_WORDS}.
    """
    words = skin or FALLBACK_WORDS
    base = escape(base_url)
    key = escape(snippet.key)
    if snippet.widget_type == "direct":
        return (
            f'<a href="{escape(chat_url(base_url, snippet))}" target="_blank" rel="noopener">'
            f"{escape(words['text_launcher'])}</a>"
        )
    return (
        f'<div id="mcc-chat-{key}"></div>\n'
        f'<script async src="{base}/widget/loader.js" data-mcc="{key}"></script>\n'
        f'<noscript><iframe src="{base}/widget/{key}/noscript" title="{escape(words["title"])}"'
        f' style="{NO_JAVASCRIPT_FRAME}"></iframe></noscript>'
    )


def frame_code(base_url, snippet, skin=None):
    """
    The direct chat URL inside a page, as an iframe titled as the skin
    (see L{generated_code}).
    """
    words = skin or FALLBACK_WORDS
    return (
        f'<iframe src="{escape(chat_url(base_url, snippet))}" title="{escape(words["title"])}"'
        f' style="{CHAT_FRAME}"></iframe>'
    )
