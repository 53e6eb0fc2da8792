# -*- test-case-name: tests.test_routing_files -*-
"""
Files sent in a chat, by its visitor to the operator or the other way.

A file is kept in the data dir's C{files/} folder under a random id (its
name is only ever shown, never used as a path), is recorded as a C{file}
event of its chat, and is served to that chat's visitor (by the chat token)
and to its operator, who gets a signed link that expires, usable from any
XMPP client.  Everything that can be refused is refused before the file is
stored in full.
"""

import hashlib
import hmac
import os
import re
from pathlib import Path
from urllib.parse import quote

from zope.interface import implementer

from mcc.routing.chats import (
    OPERATOR,
    UNSENDABLE,
    VISITOR,
    ChatOver,
    UnknownChat,
    plain_name,
)
from mcc.routing.errors import (
    BadFileName,
    BadLink,
    EmptyFile,
    FileTooLarge,
    FileTypeNotAllowed,
    NotYourChat,
    UnknownFile,
)
from mcc.routing.interfaces import IChatFiles
from mcc.store import ChatState

MEGABYTE = 1000 * 1000
DEFAULT_MAX_SIZE = 10 * MEGABYTE
MAX_NAME_LENGTH = 200
CHUNK = 64 * 1024
LINK_LIFETIME = 24 * 3600.0

TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".rtf": "application/rtf",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ppt": "application/vnd.ms-powerpoint",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
    ".zip": "application/zip",
}
"""
The types mcc knows by extension.  A file is served with the type of its
extension, never with one its sender declared.
"""

DEFAULT_ALLOWED = frozenset(TYPES)
"""
What may be sent unless the admin says otherwise: images, PDF, text,
office documents and zip archives (no SVG or HTML, which a browser would run).
"""

FILE_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
"""
What a file's id, and so its name on disk, looks like.
"""

NOT_IN_NAMES = re.compile(r"[/\\\x7f-\x9f]")


def file_size(size):
    """
    C{size} bytes as people read it.
    """
    if size < 1000:
        return f"{size} bytes"
    if size < MEGABYTE:
        return f"{size / 1000:.1f} kB"
    return f"{size / MEGABYTE:.1f} MB"


def display_name(name):
    """
    The name a file is shown under, or L{BadFileName}: a name that holds a
    path (a separator, C{..}), a NUL or another control character is
    refused rather than mended, so its sender learns why.
    """
    if not isinstance(name, str):
        raise BadFileName("a file needs a name")
    shown = plain_name(name).strip()
    if not shown:
        raise BadFileName("a file needs a name")
    if UNSENDABLE.search(shown) or NOT_IN_NAMES.search(shown) or any(c < " " for c in shown):
        raise BadFileName("a file name cannot hold '/', '\\' or control characters")
    if shown in (".", "..") or shown.startswith("~"):
        raise BadFileName("a file name cannot be a path")
    if len(shown) > MAX_NAME_LENGTH:
        raise BadFileName(f"a file name is limited to {MAX_NAME_LENGTH} characters")
    return shown


def extension(name):
    stem, dot, ext = name.rpartition(".")
    return f".{ext.lower()}" if dot and stem else ""


@implementer(IChatFiles)
class ChatFiles:
    """
    The files of every chat, on disk in C{directory} and in the store.
    """

    def __init__(
        self, store, chats, directory, clock, new_id, secret, max_size=DEFAULT_MAX_SIZE,
        allowed=DEFAULT_ALLOWED, link_lifetime=LINK_LIFETIME, base_url=lambda: "",
    ):
        """
        @param chats: the L{mcc.routing.chats.ChatService}.
        @param new_id: returns a fresh unguessable URL-safe string, a file's id.
        @param secret: bytes that sign operators' download links.
        @param allowed: extensions (C{".pdf"}) and MIME types
            (C{"application/pdf"}, C{"image/*"}) that may be sent.
        @param base_url: returns the public HTTP address, for the links.
        """
        self.store = store
        self.chats = chats
        self.directory = Path(directory)
        self.clock = clock
        self.new_id = new_id
        self.secret = secret
        self.max_size = max_size
        self.allowed = frozenset(entry.lower() for entry in allowed)
        self.link_lifetime = link_lifetime
        self.base_url = base_url
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)

    # Who may do what

    def _chat(self, chat_id, operator, token):
        """
        The chat C{chat_id} and the side acting on it: its visitor, when
        C{token} is the chat's, or C{operator}, when they have the chat.
        """
        if (operator is None) == (token is None):
            raise NotYourChat("a file is sent by a chat's visitor or its operator")
        chat = self.store.chats.by_id(chat_id)
        if chat is None or (token is not None and not hmac.compare_digest(chat.token, token)):
            raise UnknownChat("no such chat")
        if operator is not None and chat.operator != operator:
            raise NotYourChat("only the operator who has this chat can do that")
        return chat, (VISITOR if token is not None else OPERATOR)

    # Sending

    def check(self, chat_id, name, length=None, operator=None, token=None):
        """
        Refuse, before any of it is read, a file that cannot be sent: to a
        chat not under way, too large by its declared C{length}, badly
        named or of a type not allowed.  Returns the name it is shown
        under and the type it is served with.
        """
        chat, _ = self._chat(chat_id, operator, token)
        if chat.state != ChatState.ACTIVE:
            if chat.state in ChatState.OPEN:
                raise ChatOver("files can be sent once an operator has joined the chat")
            raise ChatOver("this chat has ended")
        shown = display_name(name)
        content_type = self._type(shown)
        if length is not None:
            self._check_size(length)
        return shown, content_type

    def _check_size(self, size):
        if size > self.max_size:
            raise FileTooLarge(f"files are limited to {file_size(self.max_size)}")
        if size <= 0:
            raise EmptyFile("the file is empty")

    def _type(self, name):
        ext = extension(name)
        content_type = TYPES.get(ext, "application/octet-stream")
        family = content_type.split("/")[0] + "/*"
        if not (self.allowed & {ext, content_type, family} - {""}):
            kinds = ", ".join(sorted(self.allowed)) or "none"
            raise FileTypeNotAllowed(f"files of this type cannot be sent here (allowed: {kinds})")
        return content_type

    def send(self, chat_id, name, source, length=None, operator=None, token=None):
        """
        Store the file read from C{source} (C{read(n)}) and pass it on.
        Reading stops as soon as it exceeds the limit, and a refused file
        leaves nothing on disk.
        """
        shown, content_type = self.check(chat_id, name, length, operator, token)
        chat, side = self._chat(chat_id, operator, token)
        file_id = self.new_id()
        if not FILE_ID.fullmatch(file_id):
            raise ValueError("file ids are URL-safe and 16 to 64 characters long")
        size = self._write(self._path(file_id), source)
        stored = self.store.files.add(
            id=file_id, chat_id=chat.id, name=shown, size=size, content_type=content_type,
            sender=side, sent_by=operator or "", stored_at=self.clock.seconds(),
        )
        self.chats.record(chat, "file", {
            "id": stored.id, "name": stored.name, "size": stored.size,
            "type": stored.content_type, "from": side,
        })
        if side == VISITOR:
            self.chats.channel.notify(
                chat, [chat.operator],
                f"The visitor sent a file: {shown} ({file_size(size)}). "
                f"Download it within {self.link_lifetime / 3600:g} hours: {self.link(stored)}",
            )
        return stored

    def _write(self, path, source):
        partial = path.with_name(path.name + ".partial")
        size = 0
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                while chunk := source.read(min(CHUNK, self.max_size + 1 - size)):
                    size += len(chunk)
                    if size > self.max_size:
                        break
                    handle.write(chunk)
            self._check_size(size)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.rename(path)
        return size

    def _path(self, file_id):
        return self.directory / file_id

    # Downloads

    def open(self, chat_id, file_id, operator=None, token=None):
        """
        The file C{file_id} of chat C{chat_id} and its bytes, for the
        chat's visitor or its operator; a file of another chat is unknown.
        """
        chat, _ = self._chat(chat_id, operator, token)
        return self._read(self.store.files.get(chat.id, file_id))

    def _read(self, stored):
        if stored is None:
            raise UnknownFile("no such file")
        try:
            return stored, self._path(stored.id).read_bytes()
        except FileNotFoundError:
            raise UnknownFile("no such file") from None

    def _signature(self, file_id, expires):
        return hmac.new(self.secret, f"{file_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def link(self, stored):
        """
        A link to C{stored} that works for anyone who has it, until it
        expires: what an operator gets in any XMPP client.
        """
        expires = int(self.clock.seconds() + self.link_lifetime)
        return (
            f"{self.base_url()}/api/files/{quote(stored.id)}"
            f"?expires={expires}&signature={self._signature(stored.id, expires)}"
        )

    def open_signed(self, file_id, expires, signature):
        """
        The file and its bytes for a signed link that has not expired.
        """
        try:
            expires = int(expires)
        except (TypeError, ValueError):
            raise BadLink("this link is not valid") from None
        if not (isinstance(signature, str) and isinstance(file_id, str)) or not hmac.compare_digest(
            self._signature(file_id, expires), signature
        ):
            raise BadLink("this link is not valid")
        if self.clock.seconds() >= expires:
            raise BadLink("this link has expired; ask for the file again")
        return self._read(self.store.files.by_id(file_id))

    # Purging

    def delete_files(self, chat_id):
        """
        Remove the files of chat C{chat_id}, from disk and the store: its
        history is being purged.  Returns how many went.
        """
        stored = self.store.files.of_chat(chat_id)
        for each in stored:
            self._path(each.id).unlink(missing_ok=True)
            self.store.files.remove(each.id)
        return len(stored)
