# -*- test-case-name: tests.test_webclient_desk -*-
"""
The web chat client's side of the router: L{WebChannel} keeps, for each
operator, the events the router sends them, numbered, for the browser's
long poll; L{WebPresence} makes every open web client one resource of its
operator in L{Availability}, as an XMPP client is.

An operator's events are one numbered list, whatever tab reads it: the
number is the cursor, so a reload, a dropped connection or a second tab
resumes where it was and loses and repeats nothing.
"""

from twisted.application import service
from zope.interface import implementer

from mcc.routing.chats import OPERATOR, VISITOR
from mcc.routing.interfaces import IOperatorChannel
from mcc.routing.waiter import Waiter

MAX_EVENTS = 1000
"""
Events kept per operator: a client further behind starts again from what
its operator has now (see L{Behind}).
"""

STATUSES = ("available", "away", "offline")
SHOWS = {"available": None, "away": "away"}
"""
The status an operator chooses in the web client, as the presence C{<show/>}
of an XMPP resource; offline is no resource at all.
"""

RESOURCE_PREFIX = "web-"


class Behind(Exception):
    """
    A cursor older than the events still kept, or not one of them.
    """


def chat_summary(chat):
    """
    What the web client shows of a chat: its visitor's details and state.
    """
    return {
        "id": chat.id,
        "state": chat.state,
        "protocol": chat.protocol,
        "visitor": chat.visitor_name,
        "email": chat.visitor_email,
        "question": chat.question,
        "page": chat.page,
        "queue": chat.queue or chat.target_user,
        "for_user": chat.target_user is not None,
        "created_at": chat.created_at,
        "operator": chat.operator,
        "operator_name": chat.operator_name,
    }


def said(event):
    """
    A chat's message event (or file event) as the web client shows it.
    """
    if event.kind == "file":
        data = event.data
        return {
            "kind": "file", "id": data["id"], "name": data["name"], "size": data["size"],
            "type": data["type"], "from": data["from"], "at": event.at,
        }
    return {
        "from": event.data["from"],
        "name": event.data.get("name") or "",
        "text": event.data["text"],
        "at": event.at,
    }


class _Feed:
    def __init__(self):
        self.last = 0
        self.events = []
        self.chats = {}


@implementer(IOperatorChannel)
class WebChannel(service.Service):
    """
    The router's events for each operator, kept whether or not a web
    client is open: one that opens later shows the chats ringing for its
    operator.  Stopping, it answers every waiting poll with nothing new.

    @param transcript: C{chat -> message and file events}, the chat so
        far (L{ChatService.history}).
    """

    def __init__(self, clock, transcript, poll_timeout, max_events=MAX_EVENTS):
        self.clock = clock
        self.transcript = transcript
        self.max_events = max_events
        self._feeds = {}
        self._polls = Waiter(clock, poll_timeout)

    def _feed(self, operator):
        return self._feeds.setdefault(operator, _Feed())

    def _add(self, operator, kind, chat, **data):
        feed = self._feed(operator)
        feed.last += 1
        feed.events.append({"seq": feed.last, "kind": kind, "chat": chat.id, "at": self.clock.seconds(), **data})
        del feed.events[: max(0, len(feed.events) - self.max_events)]
        self._polls.notify(operator, feed.last)

    def _show(self, chat, operator, kind):
        self._feed(operator).chats[chat.id] = chat.guest
        self._add(
            operator, kind, chat,
            details=chat_summary(chat), transcript=[said(e) for e in self.transcript(chat)],
        )

    # IOperatorChannel

    def offer(self, chat, operators, transcript):
        for operator in operators:
            self._show(chat, operator, "offer")

    def resume(self, chat, operator, missed):
        self._show(chat, operator, "resume")

    def deliver(self, chat, operator, text):
        self._add(operator, "message", chat, **{"from": VISITOR, "name": chat.visitor_name, "text": text})

    def typing(self, chat, operator, state):
        self._add(operator, "typing", chat, state=state)

    def notify(self, chat, operators, text):
        for operator in operators:
            self._add(operator, "notice", chat, text=text)

    def withdraw(self, chat, operators):
        for operator in operators:
            self._feed(operator).chats.pop(chat.id, None)
            self._add(operator, "withdraw", chat)

    def acknowledge(self, chat, operator, ref, how):
        """
        Receipts and markers answer what an XMPP client asked for by its
        message's id; a web client asks for none.
        """

    # What the page shows beyond the channel's words

    def recorded(self, chat, kind, data, internal):
        """
        An event of C{chat} (L{ChatService.on_event}): a transfer's steps go
        to the operator who keeps the chat, files and e-mails to the chat's
        operator, as events the page shows for what they are.
        """
        show = getattr(self, "_recorded_" + kind, None)
        if show is not None:
            show(chat, data)

    def _recorded_transfer_offered(self, chat, data):
        if data.get("from"):
            self._add(
                data["from"], "transfer", chat, state="pending",
                to=data.get("queue") or data.get("user"), note=data.get("note") or "",
            )

    def _recorded_transfer_returned(self, chat, data):
        self._add(data["to"], "transfer", chat, state="returned", reason=data.get("reason", ""))

    def _recorded_transfer_taken(self, chat, data):
        self._add(data["from"], "transfer", chat, state="taken", by=data["operator"])

    def _recorded_file(self, chat, data):
        if chat.operator:
            self._add(
                chat.operator, "file", chat, **{
                    "id": data["id"], "name": data["name"], "size": data["size"],
                    "type": data["type"], "from": data["from"],
                }
            )

    def _recorded_email(self, chat, data):
        if chat.operator:
            self._add(chat.operator, "email", chat, to=data["to"], status=data["status"], why=data["why"])

    # What the operator does from a web client

    def tagged(self, chat, operator, tags):
        """
        C{operator} changed the tags of C{chat}: every tab shows them.
        """
        self._add(operator, "tags", chat, tags=list(tags))

    def taken(self, chat, operator):
        """
        C{operator} took C{chat} from a web client: every tab shows it.
        """
        self._add(operator, "taken", chat, details=chat_summary(chat))

    def said(self, chat, operator, text):
        """
        C{operator} said C{text} in C{chat} from a web client: every tab
        shows it.
        """
        self._add(operator, "message", chat, **{"from": OPERATOR, "name": chat.operator_name, "text": text})

    # For the web client

    def cursor(self, operator):
        return self._feed(operator).last

    def chats_of(self, operator):
        """
        The guests (by chat id) of the chats open for C{operator}: ringing
        or theirs.
        """
        return dict(self._feed(operator).chats)

    def holds(self, operator, chat_id):
        return chat_id in self._feed(operator).chats

    def events(self, operator, after):
        """
        A Deferred firing with C{operator}'s events after C{after}: at once
        when there are some, else when the next one comes or after the poll
        timeout (none).  Raises L{Behind} for a cursor it cannot answer.
        """
        feed = self._feed(operator)
        if not 0 <= after <= feed.last or (feed.events and after < feed.events[0]["seq"] - 1):
            raise Behind(after)
        waiting = self._polls.wait(operator, after, feed.last)
        return waiting.addCallback(lambda _: [e for e in feed.events if e["seq"] > after])

    def stopService(self):
        service.Service.stopService(self)
        self._polls.release()


class _Client:
    def __init__(self, username, timer):
        self.username = username
        self.timer = timer


class WebPresence:
    """
    Open web clients as resources of their operators: C{web-ID}, with the
    status its operator chose, gone when the client stops polling for
    C{gone_after} seconds or signs out.

    @param new_id: returns a fresh unguessable URL-safe string.
    """

    def __init__(self, availability, clock, new_id, gone_after):
        self.availability = availability
        self.clock = clock
        self.new_id = new_id
        self.gone_after = gone_after
        self._statuses = {}
        self._clients = {}

    def status(self, username):
        return self._statuses.get(username, "available")

    def open(self, username):
        """
        A new web client of C{username}; its id.
        """
        client_id = self.new_id()
        self._clients[client_id] = _Client(
            username, self.clock.callLater(self.gone_after, self.close, client_id)
        )
        self._announce(client_id, username)
        return client_id

    def seen(self, client_id, username):
        """
        The client C{client_id} of C{username} is still there; whether it
        is known (else it went away and must open again).
        """
        client = self._clients.get(client_id)
        if client is None or client.username != username:
            return False
        client.timer.reset(self.gone_after)
        return True

    def close(self, client_id):
        client = self._clients.pop(client_id, None)
        if client is None:
            return
        if client.timer.active():
            client.timer.cancel()
        self.availability.resource_gone(client.username, RESOURCE_PREFIX + client_id)

    def close_user(self, username):
        """
        Every web client of C{username} goes: they signed out.
        """
        for client_id, client in list(self._clients.items()):
            if client.username == username:
                self.close(client_id)

    def set_status(self, username, status):
        if status not in STATUSES:
            raise ValueError(f"a status is one of {', '.join(STATUSES)}")
        self._statuses[username] = status
        for client_id, client in list(self._clients.items()):
            if client.username == username:
                self._announce(client_id, username)

    def _announce(self, client_id, username):
        status = self.status(username)
        resource = RESOURCE_PREFIX + client_id
        if status == "offline":
            self.availability.resource_gone(username, resource)
        else:
            self.availability.resource_available(username, resource, SHOWS[status])

    def close_all(self):
        for client_id in list(self._clients):
            self.close(client_id)
