# -*- test-case-name: tests.test_xmpp_archive -*-
"""
Message archive management (XEP-0313, C{urn:xmpp:mam:2}) for accounts:
each chat message an account sends or is given is archived, with visitors'
chats too, and stamped with its archive id (XEP-0359) on the way in; a
client pages through the archive with result set management (XEP-0059).
"""

import datetime

from twisted.words.protocols.jabber import error, jid
from twisted.words.xish import domish
from wokkel.subprotocols import IQHandlerMixin, XMPPHandler

from mcc.routing.archive import UnknownArchiveId
from mcc.xmpp import jids
from mcc.xmpp.jids import localpart
from mcc.xmpp.messages import delay_stamp
from mcc.xmpp.serialized import standalone
from mcc.xmpp.namespaces import (
    NS_CLIENT,
    NS_DATA,
    NS_DELAY,
    NS_FORWARD,
    NS_HINTS,
    NS_MAM,
    NS_RSM,
    NS_SID,
)

QUERY = f"/query[@xmlns='{NS_MAM}']"
FIELDS = ("with", "start", "end")
NOT_STORED = ("no-store", "no-permanent-store")


def archivable(message):
    """
    Messages with a body, of chat or normal type, that do not ask not to
    be stored (XEP-0334).
    """
    if message.getAttribute("type", "normal") not in ("chat", "normal"):
        return False
    if message.body is None:
        return False
    return not any(
        child.uri == NS_HINTS and child.name in NOT_STORED for child in message.elements()
    )


def parse_time(text):
    """
    Seconds since the epoch of an XEP-0082 date and time; C{ValueError}
    for anything else.
    """
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return moment.timestamp()


class MessageArchiving:
    """
    The L{MessageTaps} observer that archives messages.
    """

    def __init__(self, archive, domain):
        self.archive = archive
        self.domain = domain

    def sent(self, message):
        recipient = message.getAttribute("to")
        if not archivable(message) or recipient is None:
            return
        contact = jids.parse(recipient)
        if contact.host != self.domain:
            return
        self.archive.keep(
            localpart(message.session.bare), contact.userhost(), standalone(message)
        )

    def receiving(self, message, owner):
        if not archivable(message):
            return
        # A sender must not pass off an id of the recipient's archive.
        for stamp in list(message.elements(NS_SID, "stanza-id")):
            if stamp.getAttribute("by") == owner:
                message.children.remove(stamp)
        sender = jids.parse(message["from"]).userhost()
        if sender == owner:
            # Between its own resources: the sent copy is the archived one.
            return
        stanza_id = self.archive.keep(localpart(owner), sender, standalone(message))
        stamp = message.addElement((NS_SID, "stanza-id"))
        stamp["by"] = owner
        stamp["id"] = stanza_id

    def received(self, message, owner, sessions):
        pass


def _text(parent, name):
    child = next(parent.elements(NS_RSM, name), None)
    return None if child is None else str(child).strip()


class ArchiveQueries(XMPPHandler, IQHandlerMixin):
    """
    Queries of an account's own archive, in the accounts collection.
    """

    iqHandlers = {
        "/iq[@type='get']" + QUERY: "on_fields",
        "/iq[@type='set']" + QUERY: "on_query",
    }

    def __init__(self, archive):
        XMPPHandler.__init__(self)
        self.archive = archive

    def connectionInitialized(self):
        self.xmlstream.addObserver("/iq[@type='get' or @type='set']" + QUERY, self.handleRequest)

    @staticmethod
    def _owner(iq):
        owner = jids.parse(iq.getAttribute("to") or iq["from"]).userhost()
        if owner != jids.parse(iq["from"]).userhost():
            raise error.StanzaError("forbidden", text="only your own archive")
        return owner

    def on_fields(self, iq):
        self._owner(iq)
        query = domish.Element((NS_MAM, "query"))
        form = query.addElement((NS_DATA, "x"))
        form["type"] = "form"
        kind = form.addElement("field")
        kind["var"], kind["type"] = "FORM_TYPE", "hidden"
        kind.addElement("value", content=NS_MAM)
        for name in FIELDS:
            field = form.addElement("field")
            field["var"] = name
            field["type"] = "jid-single" if name == "with" else "text-single"
        return query

    def on_query(self, iq):
        owner = self._owner(iq)
        query = iq.query
        filters = self._filters(query)
        page = next(query.elements(NS_RSM, "set"), None)
        paging = {}
        if page is not None:
            paging = self._paging(page)
        try:
            result = self.archive.query(localpart(owner), **filters, **paging)
        except UnknownArchiveId as unknown:
            raise error.StanzaError("item-not-found", text=str(unknown)) from None
        session = iq.session
        for message in result.messages:
            session.send(self._result(message, owner, session, query.getAttribute("queryid")))
        fin = domish.Element((NS_MAM, "fin"))
        if result.complete:
            fin["complete"] = "true"
        answer = fin.addElement((NS_RSM, "set"))
        if result.messages:
            first = answer.addElement("first", content=result.messages[0].stanza_id)
            first["index"] = str(result.first_index)
            answer.addElement("last", content=result.messages[-1].stanza_id)
        answer.addElement("count", content=str(result.count))
        return fin

    @staticmethod
    def _filters(query):
        filters = {}
        form = next(query.elements(NS_DATA, "x"), None)
        if form is None:
            return filters
        for field in form.elements(NS_DATA, "field"):
            name = field.getAttribute("var")
            value = next(field.elements(NS_DATA, "value"), None)
            if name == "FORM_TYPE" or value is None:
                continue
            text = str(value).strip()
            try:
                if name == "with":
                    filters["contact"] = jids.parse(text).userhost()
                elif name in ("start", "end"):
                    filters[name] = parse_time(text)
                else:
                    raise error.StanzaError("bad-request", text=f"no field {name!r} here")
            except (ValueError, jid.InvalidFormat):
                raise error.StanzaError("bad-request", text=f"{name} {text!r} is not valid") from None
        return filters

    @staticmethod
    def _paging(page):
        paging = {}
        limit = _text(page, "max")
        if limit is not None:
            if not limit.isdigit():
                raise error.StanzaError("bad-request", text="max is a number")
            paging["limit"] = int(limit)
        after = _text(page, "after")
        if after:
            paging["after"] = after
        before = _text(page, "before")
        if before is not None:
            paging["before"] = before
        return paging

    @staticmethod
    def _result(message, owner, session, query_id):
        wrapper = domish.Element((NS_CLIENT, "message"))
        wrapper["from"] = owner
        wrapper["to"] = session.jid.full()
        result = wrapper.addElement((NS_MAM, "result"))
        if query_id is not None:
            result["queryid"] = query_id
        result["id"] = message.stanza_id
        forwarded = result.addElement((NS_FORWARD, "forwarded"))
        delay = forwarded.addElement((NS_DELAY, "delay"))
        delay["stamp"] = delay_stamp(message.archived_at)
        forwarded.addRawXml(message.stanza)
        return wrapper
