# -*- test-case-name: tests.test_routing_gateways,tests.test_sms_gateways -*-
"""
SMS gateways: a phone number at a provider that rings a queue or a user.

A text from a number with no open chat starts one (protocol C{sms}, the
visitor named by the number, masked); later texts join it; the operator's
replies go out as texts, split into parts of one segment each unless the
gateway's provider concatenates.  With nobody there, the texter gets the
gateway's offline reply once per quiet period, and the texts are kept as a
missed chat.  Texts out wait in the store's outbox until the provider took
them, with retries; STOP, START and HELP are honoured.  Nothing here knows
a provider's wire format: providers are L{ISMSProvider}s.
"""

import base64
import binascii
import re
from dataclasses import dataclass

from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from mcc.routing.chats import OPERATOR, VISITOR, Unavailable, Visitor, check_sendable, sendable
from mcc.routing.errors import GatewayError, UnknownQueue
from mcc.routing.interfaces import IVisitorChannel
from mcc.routing.segments import split, texts
from mcc.store import ChatState
from mcc.store.gateways import FAILED, SENT, UNCERTAIN

PROTOCOL = "sms"
PROVIDERS = ("twilio", "telnyx")
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
RETRY_DELAYS = (30.0, 120.0, 600.0)
"""
Seconds before the second, third and fourth try of a text; then it has failed.
"""
QUIET_PERIOD = 3600.0
"""
Seconds after an offline reply before a texter gets another; texts within
it join the same missed chat.
"""
IDLE_TIMEOUT = 4 * 3600.0
"""
Seconds a texter may stay silent before their chat ends: texting is slow.
"""
INTERRUPTED = (
    "mcc stopped while sending this text, so it may not have been sent; "
    "it is not sent again, so that it cannot arrive twice"
)
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
START_WORDS = {"START", "YES", "UNSTOP"}
HELP_WORDS = {"HELP", "INFO"}
MAX_OFFLINE_REPLY = 640
MAX_SECRET = 200

log = Logger()


class SendFailed(Exception):
    """
    A provider did not take a text: C{retry} when trying again may help,
    C{credentials} when it refused the gateway's credentials.
    """

    def __init__(self, reason, retry=True, credentials=False):
        Exception.__init__(self, reason)
        self.reason = reason
        self.retry = retry
        self.credentials = credentials


@dataclass(frozen=True)
class Inbound:
    """
    A text as a provider's webhook gave it: its provider id, who sent it,
    what it says and the addresses of its media.
    """

    provider_id: str
    sender: str
    text: str
    media: tuple = ()


def is_e164(number):
    return isinstance(number, str) and E164.fullmatch(number) is not None


def masked(number):
    """
    C{number} as those who are not the chat's operator see it: +1•••••4567.
    """
    return number[:2] + "\u2022" * max(len(number) - 6, 0) + number[-4:]


def last_four(secret):
    return ("\u2022" * 4 + secret[-4:]) if secret else ""


@implementer(IVisitorChannel)
class SMSGateways(service.Service):
    """
    The gateways' rules; running, it sends what the outbox holds, and goes
    on after a restart.

    @param providers: C{name -> ISMSProvider}.
    """

    idle_timeout = IDLE_TIMEOUT

    def __init__(
        self, store, chats, clock, providers, retry_delays=RETRY_DELAYS, quiet_period=QUIET_PERIOD,
    ):
        self.store = store
        self.chats = chats
        self.clock = clock
        self.providers = providers
        self.retry_delays = tuple(retry_delays)
        self.quiet_period = quiet_period
        self._busy = set()
        self._timers = {}

    # Gateways, for the admin site

    def all(self):
        return self.store.gateways.all()

    def get(self, gateway_id):
        return self.store.gateways.get(gateway_id)

    def add(self, **fields):
        return self.store.gateways.add(self.clock.seconds(), **self._checked(fields))

    def update(self, gateway_id, **fields):
        current = self.store.gateways.get(gateway_id)
        return self.store.gateways.update(gateway_id, **self._checked(fields, current))

    def set_disabled(self, gateway_id, disabled):
        return self.store.gateways.set_disabled(gateway_id, disabled)

    def delete(self, gateway_id):
        self.store.gateways.delete(gateway_id)

    def _checked(self, fields, current=None):
        """
        The gateway's settings, checked: blank credentials keep those stored.
        """
        provider = fields.get("provider", "")
        if provider not in PROVIDERS:
            raise GatewayError("choose Twilio or Telnyx", "provider")
        number = (fields.get("number") or "").replace(" ", "").replace("-", "")
        if not is_e164(number):
            raise GatewayError("the phone number is in E.164 form: +, country code, number", "number")
        kept = current if current is not None and current.provider == provider else None
        secret = (fields.get("secret") or "").strip() or (kept.secret if kept else "")
        account = (fields.get("account") or "").strip() if provider == "twilio" else ""
        public_key = (fields.get("public_key") or "").strip() or (kept.public_key if kept else "")
        if provider == "telnyx":
            account = ""
        elif not account:
            raise GatewayError("give the Twilio account SID", "account")
        if not secret:
            word = "auth token" if provider == "twilio" else "API key"
            raise GatewayError(f"give the {word}", "secret")
        if len(secret) > MAX_SECRET or len(account) > MAX_SECRET or not secret.isprintable():
            raise GatewayError("these credentials are not a provider's", "secret")
        if provider == "telnyx":
            try:
                key = base64.b64decode(public_key, validate=True)
            except (binascii.Error, ValueError):
                key = b""
            if len(key) != 32:
                raise GatewayError("the Telnyx public key is 32 bytes in base64", "public_key")
        else:
            public_key = ""
        queue, user = fields.get("queue") or None, fields.get("user") or None
        if queue is None and user is None:
            raise GatewayError("choose the queue or the user this gateway rings", "target")
        if queue is not None and user is not None:
            raise GatewayError("a gateway rings one queue or one user", "target")
        if queue is not None:
            try:
                queue = self.store.queues.named(queue).name
            except UnknownQueue:
                raise GatewayError(f"no queue is named {queue!r}", "target") from None
        if user is not None and self.store.users.find(user) is None:
            raise GatewayError(f"no user is named {user!r}", "target")
        offline_reply = sendable((fields.get("offline_reply") or "").strip())
        if len(offline_reply) > MAX_OFFLINE_REPLY:
            raise GatewayError(f"the offline reply is at most {MAX_OFFLINE_REPLY} characters", "offline_reply")
        return {
            "provider": provider, "number": number, "account": account, "secret": secret,
            "public_key": public_key, "queue": queue, "target_user": user,
            "offline_reply": offline_reply, "concatenate": int(bool(fields.get("concatenate"))),
        }

    # Texts in

    def gateway_for(self, provider, number):
        """
        The enabled gateway of C{provider} with C{number}, or C{None}.
        """
        found = self.store.gateways.by_number(provider, number)
        return None if found is None or found.disabled else found

    def receive(self, gateway, inbound):
        """
        Take in a text that C{gateway}'s provider signed; whether it is new
        (a provider's retry of a webhook is not, and changes nothing).
        """
        if not is_e164(inbound.sender):
            raise GatewayError("the sender's number is not in E.164 form", "From")
        check_sendable(text=inbound.text, id=inbound.provider_id)
        now = self.clock.seconds()
        if not self.store.gateways.take_in(gateway.id, inbound.provider_id, inbound.sender, now):
            log.info("SMS {provider_id} on gateway {gateway_id} taken in already",
                     provider_id=inbound.provider_id, gateway_id=gateway.id)
            return False
        self.store.gateways.activity(gateway.id, now, inbound=True)
        contact = self.store.gateways.contact(gateway.id, inbound.sender)
        word = inbound.text.strip().upper()
        if word in STOP_WORDS:
            self._stop(gateway, contact)
        elif word in START_WORDS:
            self.store.gateways.update_contact(gateway.id, contact.number, stopped=0)
        elif word in HELP_WORDS:
            self._queue(gateway, contact.number, contact.chat_id, self._help(gateway))
        else:
            self._pass_on(gateway, contact, inbound, now)
        self.store.gateways.update_contact(gateway.id, contact.number, last_text_at=now)
        return True

    def _help(self, gateway):
        return (
            f"You are texting {gateway.queue or gateway.target_user}: send your question and "
            "someone will answer here. Reply STOP to get no more texts."
        )

    def _stop(self, gateway, contact):
        self.store.gateways.update_contact(gateway.id, contact.number, stopped=1)
        self.store.gateways.drop_queued(gateway.id, contact.number, "the texter sent STOP", self.clock.seconds())
        chat = self._open_chat(contact)
        if chat is not None:
            self.chats.record(chat, "sms", {"status": "stopped"}, internal=True)
            self._tell(chat, "The texter sent STOP: your replies will not reach them unless they text START.")

    def _open_chat(self, contact):
        if contact.chat_id is None:
            return None
        chat = self.store.chats.by_id(contact.chat_id)
        return chat if chat is not None and chat.state in ChatState.OPEN else None

    def _pass_on(self, gateway, contact, inbound, now):
        text = "\n".join([inbound.text] + [f"File: {url}" for url in inbound.media]).strip()
        chat = self._open_chat(contact)
        if chat is not None:
            self.chats.visitor_says(chat.token, text, message_id=inbound.provider_id)
            return
        visitor = Visitor(name=masked(contact.number), question=text, protocol=PROTOCOL)
        try:
            chat = self.chats.start(visitor, queue=gateway.queue, user=gateway.target_user)
        except Unavailable:
            chat = self._missed(gateway, contact, visitor, now)
        self.store.gateways.update_contact(gateway.id, contact.number, chat_id=chat.id)

    def _missed(self, gateway, contact, visitor, now):
        """
        Nobody is there: the text joins the texter's recent missed chat, or
        starts one, and the offline reply goes once per quiet period.
        """
        quiet = contact.last_text_at is not None and now - contact.last_text_at < self.quiet_period
        earlier = contact.chat_id is not None and self.store.chats.by_id(contact.chat_id)
        if quiet and earlier and earlier.state == ChatState.MISSED:
            self.chats.record(earlier, "message", {"from": VISITOR, "name": visitor.name, "text": visitor.question})
            chat = earlier
        else:
            chat = self.chats.start_missed(visitor, queue=gateway.queue, user=gateway.target_user)
        replied = contact.offline_reply_at
        if gateway.offline_reply and (replied is None or now - replied >= self.quiet_period):
            self.store.gateways.update_contact(gateway.id, contact.number, offline_reply_at=now)
            self._queue(gateway, contact.number, chat.id, gateway.offline_reply)
        return chat

    # The visitor channel: what the chat's operator does

    def event(self, chat, kind, data):
        if kind == "message" and data.get("from") == OPERATOR:
            self._reply(chat, data["text"])
        elif kind == "picked_up":
            contact = self.store.gateways.contact_of_chat(chat.id)
            if contact is not None:
                self._tell(chat, f"The texter's number is {contact.number}.")

    def _reply(self, chat, text):
        contact = self.store.gateways.contact_of_chat(chat.id)
        gateway = contact and self.store.gateways.find(contact.gateway_id)
        if not gateway:
            self._tell(chat, "Your reply was not sent: this chat's SMS gateway is gone.")
            return
        if contact.stopped:
            self._tell(chat, "Your reply was not sent: the texter sent STOP.")
            return
        parts = [text.strip()] if gateway.concatenate else split(text)
        for part in parts:
            self._queue(gateway, contact.number, chat.id, part, pump=False)
        self._pump(gateway.id, contact.number)
        cost = texts(text, gateway.concatenate)
        if cost > 1:
            self._tell(chat, f"Your reply goes out as {cost} texts.")

    def reply_cost(self, chat, text):
        """
        How many texts C{text} would cost as a reply in C{chat}, by the
        rules L{_reply} sends it by.
        """
        contact = self.store.gateways.contact_of_chat(chat.id)
        gateway = contact and self.store.gateways.find(contact.gateway_id)
        return texts(text, bool(gateway and gateway.concatenate))

    def _tell(self, chat, notice):
        chat = self.store.chats.by_id(chat.id)
        if chat.operator and self.chats.channel is not None:
            self.chats.channel.notify(chat, [chat.operator], notice)

    # Texts out

    def _queue(self, gateway, number, chat_id, body, pump=True):
        if self.store.gateways.contact(gateway.id, number).stopped:
            return
        self.store.gateways.queue_text(gateway.id, chat_id, number, body, self.clock.seconds())
        if pump:
            self._pump(gateway.id, number)

    def _pump(self, gateway_id, number):
        """
        Send the next text to C{number}, one at a time so they arrive in order.
        """
        key = (gateway_id, number)
        if not self.running or key in self._busy:
            return
        text = self.store.gateways.next_queued(gateway_id, number)
        gateway = self.store.gateways.find(gateway_id)
        if text is None or gateway is None:
            return
        # Marked "sending" first: a restart before the answer finds it so
        # and does not send it again (see L{_interrupted}).
        attempt = self.store.gateways.start_sending(text.id, self.clock.seconds())
        if attempt is None:
            return
        self._busy.add(key)
        provider = self.providers[gateway.provider]
        sending = defer.maybeDeferred(provider.send, gateway, number, text.body)
        args = (text.id, attempt, key)
        sending.addCallbacks(self._sent, self._failed, callbackArgs=args, errbackArgs=args)
        sending.addErrback(lambda failure: log.failure("Recording how a text went", failure))

    def _sent(self, result, text_id, attempt, key):
        self._busy.discard(key)
        if not self.running:
            return
        now = self.clock.seconds()
        self.store.gateways.settle(text_id, attempt, SENT, "", now)
        self.store.gateways.activity(key[0], now, outbound=True, error="", failing=False)
        self._pump(*key)

    def _failed(self, failure, text_id, attempt, key):
        if not self.running:
            self._busy.discard(key)
            return
        problem = failure.value
        if isinstance(problem, SendFailed):
            why, retry, credentials = problem.reason, problem.retry, problem.credentials
        else:
            why = " ".join(failure.getErrorMessage().split())[:300] or failure.type.__name__
            retry, credentials = True, False
        why = sendable(why)
        now = self.clock.seconds()
        self.store.gateways.activity(key[0], now, error=why, failing=credentials or None)
        text = self.store.gateways.text(text_id)
        log.warn("SMS to gateway {gateway_id} texter failed (try {tries}): {why}",
                 gateway_id=key[0], tries=text.tries + 1, why=why)
        if not retry or text.tries >= len(self.retry_delays):
            self._busy.discard(key)
            text = self.store.gateways.settle(text_id, attempt, FAILED, why, now)
            chat = text.chat_id is not None and self.store.chats.by_id(text.chat_id)
            if chat:
                self.chats.record(chat, "sms", {"status": FAILED, "why": why}, internal=True)
                self._tell(chat, f"A text to the visitor could not be sent: {why}")
            self._pump(*key)
        else:
            text = self.store.gateways.tried(text_id, attempt, why, now)
            self._timers[key] = self.clock.callLater(self.retry_delays[text.tries - 1], self._retry, key)

    def _retry(self, key):
        self._timers.pop(key, None)
        self._busy.discard(key)
        self._pump(*key)

    def startService(self):
        service.Service.startService(self)
        self._interrupted()
        for gateway_id, number in self.store.gateways.queued_recipients():
            self._pump(gateway_id, number)

    def _interrupted(self):
        """
        Report the texts a stopped mcc was sending.  Neither Twilio nor
        Telnyx takes an idempotency key, so sending one again could make it
        arrive twice: such a text is sent at most once, and its chat and
        operator are told it may not have arrived.
        """
        now = self.clock.seconds()
        for text in self.store.gateways.interrupted(INTERRUPTED, now):
            log.warn("SMS {text_id} to a texter of gateway {gateway_id} may not have been sent: "
                     "mcc stopped while sending it", text_id=text.id, gateway_id=text.gateway_id)
            self.store.gateways.activity(text.gateway_id, now, error=f"A text {INTERRUPTED}.")
            chat = text.chat_id is not None and self.store.chats.by_id(text.chat_id)
            if chat:
                self.chats.record(chat, "sms", {"status": UNCERTAIN, "why": INTERRUPTED}, internal=True)
                self._tell(chat, f"This text may not have been sent: {text.body!r}. "
                                 "mcc stopped while sending it and does not send it again, "
                                 "so that it cannot arrive twice.")

    def stopService(self):
        service.Service.stopService(self)
        for timer in self._timers.values():
            if timer.active():
                timer.cancel()
        self._timers.clear()
        self._busy.clear()
