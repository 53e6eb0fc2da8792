# -*- test-case-name: tests.test_routing_transcripts -*-
"""
A chat's transcript by e-mail: written at once (plain text and HTML, the
messages with their times and speakers, internal notes left out), kept in
the outbox and sent over SMTP in the background, with retries.  Each step
(queued, sent, failed and why) is a C{email} event of the chat, internal,
since the address may be anyone's; the operator is told how it went.
"""

import email.policy
import hmac
import html
import re
from datetime import datetime, UTC
from email.message import EmailMessage
from email.utils import formatdate
from io import BytesIO

from twisted.application import service
from twisted.internet import defer
from twisted.mail import smtp
from twisted.python import log
from zope.interface import implementer

from mcc.routing.chats import VISITOR, UnknownChat, sendable
from mcc.routing.errors import HeaderInjection, InvalidAddress, MailNotConfigured, NotYourChat
from mcc.routing.files import file_size
from mcc.routing.interfaces import IMailSender, ITranscriptMailer

QUEUED = "queued"
SENT = "sent"
FAILED = "failed"
RETRY_DELAYS = (60.0, 300.0)
"""
Seconds to wait before the second and the third try; then it has failed.
"""
STARTTLS_MODES = ("no", "optional", "required")
MAX_ADDRESS = 254
MAX_SUBJECT = 200
LINE_BREAKS = re.compile(r"[\r\n\x00]")
ADDRESS = re.compile(
    r"(?!\.)(?!.*\.\.)[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}(?<!\.)"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


def check_address(address):
    """
    C{address} stripped, or L{InvalidAddress}: one plain address
    (C{name@example.org}), never a line break that would start a header.
    """
    if not isinstance(address, str) or not address.strip():
        raise InvalidAddress("give an e-mail address")
    if LINE_BREAKS.search(address):
        raise HeaderInjection("an e-mail address cannot hold line breaks")
    address = address.strip()
    if len(address) > MAX_ADDRESS or not ADDRESS.fullmatch(address):
        raise InvalidAddress(f"{address!r} is not an e-mail address")
    return address


def check_subject(subject):
    if LINE_BREAKS.search(subject):
        raise HeaderInjection("a subject cannot hold line breaks")
    if len(subject) > MAX_SUBJECT:
        raise InvalidAddress(f"a subject is limited to {MAX_SUBJECT} characters")
    return sendable(subject.strip())


def _when(at):
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def transcript_lines(chat, events):
    """
    C{(time, speaker, text)} for each event of C{events} a reader of the
    transcript needs; C{speaker} is empty for what the system says.
    """
    visitor = chat.visitor_name or "Visitor"
    operator = chat.operator_name or "Operator"
    lines = []
    for event in events:
        data = event.data
        if event.internal:
            continue
        if event.kind == "message":
            fallback = visitor if data.get("from") == VISITOR else operator
            lines.append((event.at, data.get("name") or fallback, data["text"]))
        elif event.kind == "file":
            who = visitor if data.get("from") == VISITOR else operator
            lines.append((event.at, who, f"sent the file {data['name']} ({file_size(data['size'])})"))
        elif event.kind == "picked_up":
            lines.append((event.at, "", f"{data['operator']} joined the chat."))
        elif event.kind == "ended":
            lines.append((event.at, "", "The chat ended."))
    return lines


def render_text(title, lines):
    out = [title, "=" * len(title), ""]
    for at, speaker, text in lines:
        first, *rest = text.splitlines() or [""]
        out.append(f"[{_when(at)}] {speaker + ': ' if speaker else ''}{first}")
        out.extend("    " + line for line in rest)
    return "\n".join(out) + "\n"


def render_html(title, lines):
    rows = "\n".join(
        f'<tr><td style="color:#555;white-space:nowrap;vertical-align:top">{html.escape(_when(at))}</td>'
        f'<th style="text-align:left;vertical-align:top">{html.escape(speaker)}</th>'
        f"<td>{'<br>'.join(html.escape(line) for line in text.splitlines())}</td></tr>"
        for at, speaker, text in lines
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n<table>\n{rows}\n</table>\n</body></html>\n"
    )


@implementer(IMailSender)
class SMTPMailer:
    """
    Sends e-mails through one SMTP server (C{twisted.mail}).
    """

    def __init__(
        self, reactor, host, sender, port=25, starttls="optional", user=None,
        password_file=None, timeout=60.0, helo="localhost",
    ):
        """
        @param starttls: C{"no"} (plain), C{"optional"} (when the server
            offers it) or C{"required"}.
        @param password_file: where the password for C{user} is, on its
            first line, so it shows in no command line.
        """
        if starttls not in STARTTLS_MODES:
            raise ValueError(f"starttls is one of {', '.join(STARTTLS_MODES)}")
        self.reactor = reactor
        self.host = host
        self.port = port
        self.sender = check_address(sender)
        self.starttls = starttls
        self.user = user
        self.password = None
        if password_file is not None:
            with open(password_file, encoding="utf-8") as handle:
                self.password = handle.readline().rstrip("\r\n")
        self.timeout = timeout
        self.helo = helo

    def send(self, recipient, message):
        result = defer.Deferred()
        factory = smtp.ESMTPSenderFactory(
            self.user.encode() if self.user else None,
            self.password.encode() if self.password is not None else None,
            self.sender,
            recipient,
            BytesIO(message),
            result,
            retries=0,
            timeout=self.timeout,
            heloFallback=True,
            requireAuthentication=bool(self.user),
            requireTransportSecurity=self.starttls == "required",
            hostname=None if self.starttls == "no" else self.host,
        )
        factory.domain = self.helo.encode()
        self.reactor.connectTCP(self.host, self.port, factory, timeout=self.timeout)
        return result


def _why(failure):
    """
    Why a try failed, short enough to show, and whether trying again may help:
    a 5xx answer is the server's final word.
    """
    problem = failure.value
    code = getattr(problem, "code", None)
    text = sendable(" ".join(failure.getErrorMessage().split()))[:300] or failure.type.__name__
    return text, isinstance(code, int) and 500 <= code < 600


@implementer(ITranscriptMailer)
class TranscriptMailer(service.Service):
    """
    Running, it sends what the outbox holds, and goes on after a restart.
    """

    def __init__(self, store, chats, clock, mailer=None, retry_delays=RETRY_DELAYS, site_name="mcc"):
        """
        @param mailer: an L{IMailSender}; C{None} when e-mail is not set up.
        """
        self.store = store
        self.chats = chats
        self.clock = clock
        self.mailer = mailer
        self.retry_delays = tuple(retry_delays)
        self.site_name = site_name
        self._timers = {}

    def _chat(self, chat_id, operator, token):
        if (operator is None) == (token is None):
            raise NotYourChat("a transcript is asked for by a chat's visitor or its operator")
        chat = self.store.chats.by_id(chat_id)
        if chat is None or (token is not None and not hmac.compare_digest(chat.token, token)):
            raise UnknownChat("no such chat")
        if operator is not None and operator != chat.operator and operator not in self._candidates(chat):
            raise NotYourChat("this chat is not for you")
        return chat

    def _candidates(self, chat):
        if chat.target_user is not None:
            return [chat.target_user]
        try:
            return list(self.chats.queue_operators(chat.queue))
        except KeyError:
            return []

    def email_transcript(self, chat_id, to=None, operator=None, token=None, subject=None):
        if self.mailer is None:
            raise MailNotConfigured("E-mail is not set up on this server")
        chat = self._chat(chat_id, operator, token)
        if to is None:
            to = chat.visitor_email
            if not to:
                raise InvalidAddress("the visitor gave no e-mail address; give one")
        to = check_address(to)
        if token is not None and to.lower() != chat.visitor_email.strip().lower():
            raise InvalidAddress("a visitor can have the transcript sent to their own address only")
        subject = check_subject(
            subject if subject is not None else f"Transcript of your chat with {chat.queue or chat.target_user}"
        )
        message = self._message(chat, to, subject)
        mail = self.store.outbox.add(chat.id, to, message, operator or "", self.clock.seconds())
        self.chats.record(chat, "email", {"to": to, "status": QUEUED, "why": ""}, internal=True)
        if self.running:
            self._schedule(mail.id, 0)
        return mail

    def _message(self, chat, to, subject):
        events = self.store.chats.events_after(chat.id, 0)
        title = f"{subject} ({self.site_name}, {_when(chat.created_at)})"
        lines = transcript_lines(chat, events)
        message = EmailMessage(policy=email.policy.default)
        message["From"] = self.mailer.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(self.clock.seconds(), usegmt=True)
        message.set_content(render_text(title, lines), cte="quoted-printable")
        message.add_alternative(render_html(title, lines), subtype="html", cte="quoted-printable")
        return message.as_bytes()

    # Sending

    def _schedule(self, mail_id, delay):
        self._timers[mail_id] = self.clock.callLater(delay, self._try, mail_id)

    def _try(self, mail_id):
        self._timers.pop(mail_id, None)
        mail = self.store.outbox.get(mail_id)
        if mail is None or mail.status != QUEUED:
            return
        sending = defer.maybeDeferred(self.mailer.send, mail.recipient, mail.message)
        sending.addCallbacks(self._sent, self._failed, callbackArgs=(mail_id,), errbackArgs=(mail_id,))
        sending.addErrback(log.err, "recording how an e-mail went")

    def _sent(self, result, mail_id):
        if not self.running:
            return
        mail = self.store.outbox.settle(mail_id, SENT, "", self.clock.seconds())
        self._tell(mail, SENT, "", f"The transcript was e-mailed to {mail.recipient}.")

    def _failed(self, failure, mail_id):
        if not self.running:
            return
        why, final = _why(failure)
        mail = self.store.outbox.get(mail_id)
        if final or mail.tries >= len(self.retry_delays):
            mail = self.store.outbox.settle(mail_id, FAILED, why, self.clock.seconds())
            self._tell(mail, FAILED, why, f"The transcript could not be e-mailed to {mail.recipient}: {why}")
        else:
            mail = self.store.outbox.tried(mail_id, why, self.clock.seconds())
            self._schedule(mail_id, self.retry_delays[mail.tries - 1])

    def _tell(self, mail, status, why, notice):
        chat = mail.chat_id is not None and self.store.chats.by_id(mail.chat_id)
        if not chat:
            return
        self.chats.record(chat, "email", {"to": mail.recipient, "status": status, "why": why}, internal=True)
        operator = mail.requested_by or chat.operator
        if operator and self.chats.channel is not None:
            self.chats.channel.notify(chat, [operator], notice)

    def startService(self):
        """
        Go on with what was queued before a restart.
        """
        service.Service.startService(self)
        for mail in self.store.outbox.queued():
            self._schedule(mail.id, 0)

    def stopService(self):
        service.Service.stopService(self)
        for timer in self._timers.values():
            if timer.active():
                timer.cancel()
        self._timers.clear()

