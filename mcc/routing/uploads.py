# -*- test-case-name: tests.test_uploads -*-
"""
HTTP upload (XEP-0363) for operators' XMPP clients: an account asks for a
slot naming a file's name, size and type, puts the bytes to the slot's
signed address before it expires, and anyone with the file's address may
get it.  The bytes go where the chats' files are (L{ChatFiles}: the data
dir's C{files/}, under a random id, readable by the server alone).

An operator who sends the address of one of their own uploads into a guest
chat sends the visitor that file, as if sent from the web client; any other
address stays words.
"""

import hashlib
import hmac
import os
import re
from urllib.parse import quote, unquote, urlsplit

from twisted.application.internet import TimerService

from mcc.routing.errors import (
    BadLink,
    EmptyFile,
    FileTooLarge,
    QuotaExceeded,
    UnknownFile,
    UploadMismatch,
)
from mcc.routing.files import CHUNK, FILE_ID, MEGABYTE, display_name, file_size

SLOT_LIFETIME = 300.0
"""
Seconds a slot may be put to after it was given: enough for a phone to
send a large photo over a slow network.
"""

DEFAULT_QUOTA = 100 * MEGABYTE
PATH = "/upload/"
CONTENT_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}")
DEFAULT_TYPE = "application/octet-stream"


def content_type_of(declared):
    """
    The type a slot is given for: the declared one when it is a plain
    C{type/subtype}, without parameters, else the generic one.
    """
    if isinstance(declared, str) and CONTENT_TYPE.fullmatch(declared.strip()):
        return declared.strip().lower()
    return DEFAULT_TYPE


class Uploads:
    """
    The upload slots of every account.
    """

    def __init__(
        self, store, files, clock, new_id, secret, base_url, max_size, quota=DEFAULT_QUOTA,
        slot_lifetime=SLOT_LIFETIME,
    ):
        """
        @param files: the L{mcc.routing.files.ChatFiles}, whose folder
            holds the bytes and which sends a shared upload into a chat.
        @param new_id: returns a fresh unguessable URL-safe string.
        @param secret: bytes that sign the slots' put addresses.
        @param base_url: returns the public HTTP address.
        @param max_size: the largest file, in bytes.
        @param quota: the bytes one account may hold in uploads.
        """
        self.store = store
        self.files = files
        self.clock = clock
        self.new_id = new_id
        self.secret = secret
        self.base_url = base_url
        self.max_size = max_size
        self.quota = quota
        self.slot_lifetime = slot_lifetime

    # Slots

    def request_slot(self, owner, name, size, content_type=None):
        """
        A slot for C{owner} to put a file of C{size} bytes into, with the
        addresses to put it to and get it from; or L{FileTooLarge},
        L{QuotaExceeded}, L{EmptyFile}, L{BadFileName}.
        """
        shown = display_name(name)
        if size <= 0:
            raise EmptyFile("the file is empty")
        if size > self.max_size:
            raise FileTooLarge(f"files are limited to {file_size(self.max_size)}")
        now = self.clock.seconds()
        used = self.store.uploads.used_by(owner, now)
        if used + size > self.quota:
            raise QuotaExceeded(
                f"uploads are limited to {file_size(self.quota)} per account; "
                f"{file_size(max(self.quota - used, 0))} left"
            )
        slot_id = self.new_id()
        if not FILE_ID.fullmatch(slot_id):
            raise ValueError("slot ids are URL-safe and 16 to 64 characters long")
        slot = self.store.uploads.add(
            id=slot_id, owner=owner, name=shown, size=size,
            content_type=content_type_of(content_type), requested_at=now,
            expires_at=now + self.slot_lifetime,
        )
        expires = int(slot.expires_at)
        put = f"{self.get_url(slot)}?expires={expires}&signature={self._signature(slot, expires)}"
        return slot, put, self.get_url(slot)

    def get_url(self, slot):
        return f"{self.base_url()}{PATH}{slot.id}/{quote(slot.name, safe='')}"

    def _signature(self, slot, expires):
        message = f"upload:{slot.id}:{slot.size}:{slot.content_type}:{expires}"
        return hmac.new(self.secret, message.encode(), hashlib.sha256).hexdigest()

    # Putting

    def check_put(self, slot_id, expires, signature, length, content_type=None):
        """
        The slot C{slot_id} if a body of C{length} bytes and C{content_type}
        may be put to it with this C{expires} and C{signature}: checked
        from the request's head, before any of the body is kept.
        """
        slot = self.store.uploads.get(slot_id) if isinstance(slot_id, str) else None
        try:
            expires = int(expires)
        except (TypeError, ValueError):
            raise BadLink("this upload address is not valid") from None
        if slot is None or not isinstance(signature, str) or not hmac.compare_digest(
            self._signature(slot, expires), signature
        ):
            raise BadLink("this upload address is not valid")
        if self.clock.seconds() >= expires:
            raise BadLink("this upload slot has expired; ask for another")
        if slot.stored_at is not None:
            raise UploadMismatch("this slot has been used; ask for another")
        if length is None:
            raise UploadMismatch(f"the upload must declare its length, {slot.size} bytes")
        if length > slot.size:
            raise FileTooLarge(f"this slot is for {slot.size} bytes")
        if length != slot.size:
            raise UploadMismatch(f"this slot is for {slot.size} bytes")
        if content_type is not None and content_type_of(content_type) != slot.content_type:
            raise UploadMismatch(f"this slot is for a file of type {slot.content_type}")
        return slot

    def put(self, slot_id, expires, signature, length, content_type, source):
        """
        Store the body read from C{source} for the slot; a body that is not
        the declared length leaves nothing on disk.
        """
        slot = self.check_put(slot_id, expires, signature, length, content_type)
        path = self.files.directory / slot.id
        partial = path.with_name(path.name + ".partial")
        written = 0
        try:
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise UploadMismatch("this slot is being put to already") from None
        try:
            with os.fdopen(descriptor, "wb") as handle:
                while chunk := source.read(min(CHUNK, slot.size + 1 - written)):
                    written += len(chunk)
                    if written > slot.size:
                        raise FileTooLarge(f"this slot is for {slot.size} bytes")
                    handle.write(chunk)
            if written != slot.size:
                raise UploadMismatch(f"this slot is for {slot.size} bytes, {written} came")
            if not self.store.uploads.mark_stored(slot.id, self.clock.seconds()):
                raise UploadMismatch("this slot has been used; ask for another")
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.rename(path)
        return self.store.uploads.get(slot.id)

    # Getting

    def open(self, slot_id, name):
        """
        The stored slot C{slot_id} and its bytes, when C{name} is the one
        it was put under.
        """
        slot = self.store.uploads.get(slot_id) if FILE_ID.fullmatch(slot_id or "") else None
        if slot is None or slot.stored_at is None or slot.name != name:
            raise UnknownFile("no such file")
        try:
            return slot, (self.files.directory / slot.id).read_bytes()
        except FileNotFoundError:
            raise UnknownFile("no such file") from None

    def forget_unused(self):
        """
        Forget the slots that expired unused: they count against nobody's
        quota any more, and their ids are never put to.
        """
        return len(self.store.uploads.remove_unused(self.clock.seconds()))

    # Sharing into chats

    def upload_at(self, owner, url):
        """
        The stored upload of C{owner} that C{url} is the address of, or
        C{None}: another server's address, someone else's upload, or one
        not put yet.
        """
        if not isinstance(url, str):
            return None
        prefix = f"{self.base_url()}{PATH}"
        if not url.startswith(prefix):
            return None
        parts = urlsplit(url)
        if parts.query or parts.fragment:
            return None
        slot_id, slash, name = url[len(prefix):].partition("/")
        if not slash or "/" in name:
            return None
        try:
            slot, _ = self.open(slot_id, unquote(name, errors="strict"))
        except (UnknownFile, UnicodeDecodeError):
            return None
        return slot if slot.owner == owner else None

    def share(self, guest, operator, url):
        """
        Send the visitor of the chat of C{guest} the upload at C{url}, as a
        file from its C{operator}: the L{ChatFile} sent, or C{None} when
        C{url} is not one of C{operator}'s uploads.  The chat's rules for
        files apply (the chat under way, the types allowed, the size).
        """
        slot = self.upload_at(operator, url)
        if slot is None:
            return None
        chat = self.files.chats.by_guest(guest)
        with open(self.files.directory / slot.id, "rb") as source:
            return self.files.send(chat.id, slot.name, source, slot.size, operator=operator)


class SlotSweeper(TimerService):
    """
    Forgets the slots that expired unused, every slot lifetime on
    C{clock}, so that slots asked for and never put to do not pile up
    (they stopped counting against the quota when they expired).
    """

    def __init__(self, uploads, clock):
        TimerService.__init__(self, uploads.slot_lifetime, uploads.forget_unused)
        self.clock = clock
