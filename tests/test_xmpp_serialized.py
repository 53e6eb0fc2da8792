"""
Tests for L{mcc.xmpp.serialized}: a message's text is made once while it
stays as it is, and again as soon as it is readdressed or stamped.
"""

from twisted.words.xish import domish
from wokkel.generic import parseXml

from mcc.xmpp.namespaces import NS_CLIENT
from mcc.xmpp.serialized import in_stream, standalone

MESSAGE = (
    "<message xmlns='jabber:client' to='bob@example.org' type='chat'>"
    "<body>hi &amp; bye</body></message>"
)


def counting(element):
    calls = []
    to_xml = element.toXml

    def counted(*args, **kwargs):
        calls.append(kwargs)
        return to_xml(*args, **kwargs)

    element.toXml = counted
    return calls


def test_the_same_message_is_serialized_once_per_form():
    message = parseXml(MESSAGE)
    calls = counting(message)
    assert [in_stream(message) for _ in range(3)] == [
        "<message to='bob@example.org' type='chat'><body>hi &amp; bye</body></message>"
    ] * 3
    assert [standalone(message) for _ in range(3)] == [MESSAGE] * 3
    assert len(calls) == 2


def test_readdressing_makes_the_text_again():
    message = parseXml(MESSAGE)
    first = in_stream(message)
    message["to"] = "carol@example.org"
    assert in_stream(message) == first.replace("bob", "carol")


def test_stamping_and_unstamping_make_the_text_again():
    message = parseXml(MESSAGE)
    plain = standalone(message)
    stamp = message.addElement(("urn:xmpp:sid:0", "stanza-id"))
    stamp["id"] = "1"
    stamped = standalone(message)
    assert "stanza-id" in stamped
    message.children.remove(stamp)
    assert standalone(message) == plain
    other = message.addElement(("urn:xmpp:sid:0", "stanza-id"))
    other["id"] = "2"
    assert standalone(message) == stamped.replace("'1'", "'2'")


def test_other_stanzas_are_serialized_each_time():
    presence = domish.Element((NS_CLIENT, "presence"))
    calls = counting(presence)
    in_stream(presence)
    presence.addElement("show", content="away")
    assert in_stream(presence) == "<presence><show>away</show></presence>"
    assert len(calls) == 2


def test_text_is_sent_as_it_is():
    assert in_stream("<message/>") == "<message/>"
