# -*- test-case-name: tests.test_layers -*-
"""
The errors that adapters catch, and the name rules they call.

They are raised deep down (the store enforces uniqueness and names), but
adapters import them from here only: the XMPP server, the admin site and the
widget know the routing layer, never the store.
"""

from mcc.credentials import PasswordError
from mcc.store.queues import DuplicateQueue, UnknownQueue
from mcc.store.users import (
    GUEST_PREFIX,
    MAX_USERNAME_BYTES,
    DuplicateUser,
    UnknownUser,
    UsernameError,
    normalize_username,
)
from mcc.store.widgets import (
    DuplicateSkin,
    DuplicateSnippet,
    SkinInUse,
    UnknownSkin,
    UnknownSnippet,
)

from mcc.routing.files import (
    BadFileName,
    BadLink,
    EmptyFile,
    FileError,
    FileTooLarge,
    FileTypeNotAllowed,
    NotYourChat,
    UnknownFile,
)
from mcc.routing.transcripts import HeaderInjection, InvalidAddress, MailNotConfigured

__all__ = [
    "GUEST_PREFIX",
    "MAX_USERNAME_BYTES",
    "normalize_username",
    "PasswordError",
    "UsernameError",
    "DuplicateUser",
    "UnknownUser",
    "DuplicateQueue",
    "UnknownQueue",
    "DuplicateSkin",
    "DuplicateSnippet",
    "SkinInUse",
    "UnknownSkin",
    "UnknownSnippet",
    "FileError",
    "FileTooLarge",
    "EmptyFile",
    "BadFileName",
    "FileTypeNotAllowed",
    "UnknownFile",
    "BadLink",
    "NotYourChat",
    "MailNotConfigured",
    "InvalidAddress",
    "HeaderInjection",
]
