# -*- test-case-name: tests.test_xmpp_serialized -*-
"""
A message's XML, made once however many recipients, copies and archives
take the same bytes.

A chat message is serialized for its sender's archive, its recipient's,
each carbon copy and each resource it is delivered to.  The text is kept on
the element with what it was made from: its attributes and its children.
The server readdresses (C{to}) and stamps (C{<stanza-id/>}, C{<delay/>})
messages at the top level only, and either change makes the text again.
Only messages are kept so: nothing changes their children's insides.
"""

from mcc.xmpp.namespaces import NS_CLIENT, NS_STREAMS


def _state(element):
    return tuple(element.attributes.items()), tuple(element.children)


def _kept(element, slot, make):
    if getattr(element, "name", None) != "message":
        return make(element)
    state = _state(element)
    kept = element.__dict__.get(slot)
    if kept is not None and kept[0] == state:
        return kept[1]
    xml = make(element)
    element.__dict__[slot] = (state, xml)
    return xml


def _in_stream(element):
    return element.toXml(
        prefixes={NS_STREAMS: "stream"}, defaultUri=NS_CLIENT, prefixesInScope=["stream"]
    )


def _standalone(element):
    return element.toXml()


def in_stream(element):
    """
    C{element} as a C{jabber:client} stream writes it; text as it is.
    """
    if isinstance(element, str):
        return element
    return _kept(element, "_xml_in_stream", _in_stream)


def standalone(element):
    """
    C{element.toXml()}: with its namespace declared, as archived or
    forwarded (XEP-0297).
    """
    return _kept(element, "_xml_standalone", _standalone)
