# -*- test-case-name: tests.test_s2s_dialback -*-
"""
Server Dialback (XEP-0220) keys, made as XEP-0185 recommends: the
receiving server asks the originating domain's authoritative server whether
the key it was given is right, and only that server, which holds the
secret, can tell.
"""

import hashlib
import hmac

from twisted.words.xish import domish

NS_DIALBACK = "jabber:server:dialback"
NS_DIALBACK_FEATURE = "urn:xmpp:features:dialback"


def dialback_key(secret, receiving, originating, stream_id):
    """
    The key the originating server gives for the stream C{stream_id} that
    the receiving server opened: hex HMAC-SHA256, keyed by the SHA-256 of
    C{secret} (bytes), of "receiving originating stream_id".
    """
    key = hashlib.sha256(secret).hexdigest().encode("ascii")
    text = f"{receiving} {originating} {stream_id}".encode()
    return hmac.new(key, text, hashlib.sha256).hexdigest()


def key_is_right(secret, receiving, originating, stream_id, key):
    return hmac.compare_digest(
        dialback_key(secret, receiving, originating, stream_id), (key or "").strip().lower()
    )


def dialback_element(name, sender, recipient, kind=None, key=None, stream_id=None):
    """
    A C{<db:result/>} or C{<db:verify/>}: with C{key} the question, with
    C{kind} (C{valid} or C{invalid}) its answer.
    """
    element = domish.Element((NS_DIALBACK, name))
    element["from"], element["to"] = sender, recipient
    if stream_id is not None:
        element["id"] = stream_id
    if kind is not None:
        element["type"] = kind
    if key is not None:
        element.addContent(key)
    return element


def refusal(element):
    """
    What a dialback answer that is not C{valid} says, for the log: its
    C{type} and the condition and text of any C{<error/>} in it
    (XEP-0220 section 2.4), such as C{type=error, item-not-found: no such
    domain}.
    """
    said = f"type={element.getAttribute('type') or '(none)'}"
    error = next((child for child in element.elements() if child.name == "error"), None)
    if error is None:
        return said
    condition = next((child.name for child in error.elements() if child.name != "text"), None)
    text = next((str(child).strip() for child in error.elements() if child.name == "text"), "")
    if condition:
        said += f", {condition}"
    if text:
        said += f": {text}"
    return said
