"""
Tests for L{mcc.xmpp.dispatch}: the handler collections' dispatcher tries
only the queries an element's name allows, and otherwise behaves as
Twisted's L{EventDispatcher}.
"""

import pytest
from twisted.words.xish import domish, utility, xpath

from mcc.xmpp.dispatch import ElementDispatcher, ElementPipe

QUERIES = [
    "/message",
    "/message[@type='chat']",
    "/presence",
    "/iq[@type='get']/query[@xmlns='urn:example']",
    "/iq/query",
    "/*",
    "//body",
    "/message/body",
]

STANZAS = [
    ("message", {"type": "chat"}, [("body", "")]),
    ("message", {}, []),
    ("presence", {}, []),
    ("iq", {"type": "get"}, [("query", "urn:example")]),
    ("iq", {"type": "set"}, [("query", "urn:example")]),
    ("iq", {"type": "get"}, [("other", "urn:example")]),
    ("stream", {}, [("body", "")]),
]


def stanza(name, attributes, children):
    element = domish.Element((None, name))
    for key, value in attributes.items():
        element[key] = value
    for child, uri in children:
        element.addElement((uri, child))
    return element


def record(dispatcher, calls):
    for priority, query in enumerate(QUERIES):
        dispatcher.addObserver(query, lambda e, q=query: calls.append((q, e.name)), priority % 3)


@pytest.mark.parametrize("shape", STANZAS, ids=[s[0] + str(i) for i, s in enumerate(STANZAS)])
def test_observers_called_as_twisted_calls_them(shape):
    ours, twisteds = [], []
    dispatcher, reference = ElementDispatcher(), utility.EventDispatcher()
    record(dispatcher, ours)
    record(reference, twisteds)
    element = stanza(*shape)
    assert dispatcher.dispatch(element) == reference.dispatch(element)
    assert ours == twisteds
    assert ours, "every shape reaches /* at least"


def test_queries_for_other_names_are_not_tried():
    dispatcher = ElementDispatcher()
    tried = []

    class Query(xpath.XPathQuery):
        """Counts the elements it is asked about."""

        def matches(self, element):
            tried.append(element.name)
            return xpath.XPathQuery.matches(self, element)

    dispatcher.addObserver(Query("/iq[@type='get']"), lambda e: None)
    dispatcher.addObserver(Query("/message"), lambda e: None)
    dispatcher.dispatch(stanza("message", {}, []))
    assert tried == ["message"]


def test_observers_added_later_are_seen():
    dispatcher, calls = ElementDispatcher(), []
    dispatcher.dispatch(stanza("message", {}, []))
    dispatcher.addObserver("/message", calls.append)
    element = stanza("message", {}, [])
    dispatcher.dispatch(element)
    dispatcher.removeObserver("/message", calls.append)
    dispatcher.dispatch(stanza("message", {}, []))
    assert calls == [element]


def test_one_time_observers_are_called_once():
    dispatcher, calls = ElementDispatcher(), []
    dispatcher.addOnetimeObserver("/presence", calls.append)
    dispatcher.dispatch(stanza("presence", {}, []))
    dispatcher.dispatch(stanza("presence", {}, []))
    assert len(calls) == 1


def test_observer_added_during_a_dispatch_waits_for_the_next():
    dispatcher, calls = ElementDispatcher(), []

    def add(element):
        calls.append("first")
        dispatcher.addObserver("/message", lambda e: calls.append("added"))

    dispatcher.addObserver("/message", add)
    dispatcher.dispatch(stanza("message", {}, []))
    assert calls == ["first"]
    dispatcher.dispatch(stanza("message", {}, []))
    assert calls.count("added") == 1


def test_named_events_are_dispatched():
    dispatcher, calls = ElementDispatcher(), []
    dispatcher.addObserver("//event/x", calls.append)
    dispatcher.dispatch("payload", "//event/x")
    assert calls == ["payload"]


def test_pipe_connects_both_ends():
    pipe, upstream, downstream = ElementPipe(), [], []
    pipe.source.addObserver("/message", downstream.append)
    pipe.sink.addObserver("/*", upstream.append)
    message, reply = stanza("message", {}, []), stanza("iq", {}, [])
    pipe.sink.send(message)
    pipe.source.send(reply)
    assert (downstream, upstream) == ([message], [reply])
