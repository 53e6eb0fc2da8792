# -*- test-case-name: tests.test_xmpp_caps -*-
"""
Entity capabilities (XEP-0115): the server's own, hashed from its service
discovery information, and its clients', learnt from their presence, so
that personal eventing notifications go only to resources that want them.
"""

import base64
import hashlib
import weakref

from twisted.logger import Logger
from twisted.words.xish import domish
from wokkel import disco
from wokkel.subprotocols import XMPPHandler

from mcc.xmpp.namespaces import NS_CAPS, NS_CLIENT, NS_DATA

log = Logger()

CAPS_NODE = "https://mcc.example/caps"
"""
The node naming this software in the server's capabilities.
"""
HASHES = {"sha-1": hashlib.sha1, "sha-256": hashlib.sha256}
MAX_PENDING = 256
"""
How many questions may wait for an answer at once.
"""
MAX_KNOWN = 1024
"""
How many verification strings are remembered: a few per client release.
"""


def verification(identities, features, forms=()):
    """
    The verification string of XEP-0115 section 5.1 (SHA-1).

    @param identities: C{(category, type, lang, name)} tuples.
    @param forms: dicts of field names to lists of values, FORM_TYPE among them.
    """
    return _hash(hashlib.sha1, identities, features, forms)


def _hash(algorithm, identities, features, forms):
    text = "".join(
        "/".join(part or "" for part in identity) + "<" for identity in sorted(identities)
    )
    text += "".join(feature + "<" for feature in sorted(set(features)))
    for form in sorted(forms, key=lambda fields: fields["FORM_TYPE"][0]):
        text += form["FORM_TYPE"][0] + "<"
        for var in sorted(name for name in form if name != "FORM_TYPE"):
            text += var + "<" + "".join(value + "<" for value in sorted(form[var]))
    return base64.b64encode(algorithm(text.encode("utf-8")).digest()).decode("ascii")


def caps_element(ver):
    element = domish.Element((NS_CAPS, "c"))
    element["hash"] = "sha-1"
    element["node"] = CAPS_NODE
    element["ver"] = ver
    return element


def _parse_info(query):
    """
    Identities, features and forms of a disco#info reply.
    """
    identities, features, forms = [], [], []
    for child in query.elements():
        if child.name == "identity":
            identities.append((
                child.getAttribute("category", ""),
                child.getAttribute("type", ""),
                child.getAttribute((
                    "http://www.w3.org/XML/1998/namespace", "lang"), ""),
                child.getAttribute("name", ""),
            ))
        elif child.name == "feature" and child.getAttribute("var"):
            features.append(child["var"])
        elif (child.uri, child.name) == (NS_DATA, "x"):
            form = {}
            for field in child.elements(NS_DATA, "field"):
                form[field.getAttribute("var", "")] = [
                    str(value) for value in field.elements(NS_DATA, "value")
                ]
            if form.get("FORM_TYPE"):
                forms.append(form)
    return identities, features, forms


class ClientCapabilities:
    """
    What each session's client can do, by the verification string its
    presence carries; a string not known yet is asked of that client once.

    @ivar asker: the L{CapsQueries} handler that sends the questions.
    @ivar on_learnt: callables given a session whose features became known.
    """

    def __init__(self):
        self.asker = None
        self.on_learnt = []
        self._known = {}
        self._asking = set()
        self._of_session = weakref.WeakKeyDictionary()

    def features(self, session):
        return self._of_session.get(session, frozenset())

    def wants(self, session, node):
        """
        Whether C{session}'s client asked for notifications of C{node}.
        """
        return node + "+notify" in self.features(session)

    def presence(self, session, presence):
        """
        C{session} broadcast C{presence}: note what its caps say.
        """
        caps = next(presence.elements(NS_CAPS, "c"), None)
        if caps is None:
            return
        ver = caps.getAttribute("ver")
        node = caps.getAttribute("node")
        algorithm = caps.getAttribute("hash")
        if not ver or not node:
            return
        if ver in self._known:
            self._learnt(session, self._known[ver])
        elif ver not in self._asking and self.asker is not None:
            self._asking.add(ver)
            self.asker.ask(session, f"{node}#{ver}", ver, HASHES.get(algorithm))

    def answered(self, session, ver, algorithm, query):
        self._asking.discard(ver)
        identities, features, forms = _parse_info(query)
        if algorithm is not None and _hash(algorithm, identities, features, forms) == ver:
            if len(self._known) >= MAX_KNOWN:
                self._known.pop(next(iter(self._known)))
            self._known[ver] = frozenset(features)
        self._learnt(session, frozenset(features))

    def failed(self, ver):
        self._asking.discard(ver)

    def _learnt(self, session, features):
        if session.ended:
            return
        known = self._of_session.get(session)
        self._of_session[session] = features
        if known != features:
            for callback in self.on_learnt:
                callback(session)


class CapsQueries(XMPPHandler):
    """
    Asks clients what their capabilities' verification strings stand for,
    from the domain's collection, where their answers arrive.
    """

    def __init__(self, capabilities, domain, new_id):
        XMPPHandler.__init__(self)
        self.capabilities = capabilities
        self.domain = domain
        self.new_id = new_id
        self._pending = {}
        capabilities.asker = self

    def connectionInitialized(self):
        self.xmlstream.addObserver("/iq[@type='result' or @type='error']", self.on_answer)

    def ask(self, session, node, ver, algorithm):
        if len(self._pending) >= MAX_PENDING:
            # Clients that never answered: forget the oldest question.
            _, (_, forgotten, _) = self._pending.popitem()
            self.capabilities.failed(forgotten)
        request = domish.Element((NS_CLIENT, "iq"))
        request["type"] = "get"
        request["id"] = self.new_id()
        request["from"] = self.domain
        request["to"] = session.jid.full()
        request.addElement((disco.NS_DISCO_INFO, "query"))["node"] = node
        self._pending[request["id"]] = (weakref.ref(session), ver, algorithm)
        self.send(request)

    def on_answer(self, iq):
        asked = self._pending.get(iq.getAttribute("id"))
        if asked is None:
            return
        reference, ver, algorithm = asked
        session = reference()
        if session is None or iq["from"] != session.jid.full():
            return
        del self._pending[iq["id"]]
        iq.handled = True
        query = next(iq.elements(disco.NS_DISCO_INFO, "query"), None)
        if iq["type"] == "error" or query is None:
            log.debug("no capabilities from {jid} for {ver}", jid=iq["from"], ver=ver)
            self.capabilities.failed(ver)
        else:
            self.capabilities.answered(session, ver, algorithm, query)


class CapsPresence(XMPPHandler):
    """
    Reads the capabilities in the presence that clients broadcast, in the
    accounts collection.
    """

    def __init__(self, capabilities):
        XMPPHandler.__init__(self)
        self.capabilities = capabilities

    def connectionInitialized(self):
        self.xmlstream.addObserver("/presence", self.on_presence)

    def on_presence(self, presence):
        if presence.getAttribute("type") is None and presence.getAttribute("to") is None:
            self.capabilities.presence(presence.session, presence)
