# -*- test-case-name: tests.test_widget_public -*-
"""
The code an admin pastes into a website for a snippet.  It names the
snippet by its public key only: what it shows is fetched when the page
loads, so later edits in the admin site reach published pages.
"""

from html import escape

NO_JAVASCRIPT_FRAME = "width:100%;height:6em;border:0"
CHAT_FRAME = "width:380px;max-width:100%;height:560px;border:0"


def chat_url(base_url, snippet):
    """
    The snippet's chat page: the direct chat URL, and the pop-up window.
    """
    return f"{base_url}/widget/{snippet.key}/chat"


def generated_code(base_url, snippet):
    """
    For a direct chat URL, a link to it; for the other widget types, a
    container element, one async script tag and a C{<noscript>} frame
    showing the No JavaScript contingency.
    """
    base = escape(base_url)
    key = escape(snippet.key)
    if snippet.widget_type == "direct":
        return (
            f'<a href="{escape(chat_url(base_url, snippet))}" target="_blank" rel="noopener">'
            "Chat with us</a>"
        )
    return (
        f'<div id="mcc-chat-{key}"></div>\n'
        f'<script async src="{base}/widget/loader.js" data-mcc="{key}"></script>\n'
        f'<noscript><iframe src="{base}/widget/{key}/noscript" title="Chat"'
        f' style="{NO_JAVASCRIPT_FRAME}"></iframe></noscript>'
    )


def frame_code(base_url, snippet):
    """
    The direct chat URL inside a page, as an iframe.
    """
    return (
        f'<iframe src="{escape(chat_url(base_url, snippet))}" title="Chat"'
        f' style="{CHAT_FRAME}"></iframe>'
    )
