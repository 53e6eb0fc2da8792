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

from mcc.store.canned import DuplicateCanned, UnknownCanned
from mcc.store.tags import DuplicateTag, UnknownTag
from mcc.store.components import DuplicateComponent, DuplicateIdentity, UnknownComponent
from mcc.store.gateways import DuplicateGateway, UnknownGateway


class ChatError(Exception):
    """
    A request the router refuses; C{reason} is a stable machine word.
    """

    reason = "error"


class OperationRefused(ChatError):
    """
    A chat operation refused with nothing changed; the message says why, in
    words an operator can read.
    """

    reason = "refused"


class NotYourChat(OperationRefused):
    reason = "not-your-chat"


class NotPermitted(OperationRefused):
    reason = "forbidden"


class TransferPending(OperationRefused):
    reason = "transfer-pending"


class SelfTransfer(OperationRefused):
    reason = "self-transfer"


class TargetUnavailable(OperationRefused):
    reason = "target-unavailable"


class InvalidTag(OperationRefused):
    reason = "invalid-tag"


class InvalidCanned(OperationRefused):
    reason = "invalid-canned"


class InvalidNote(OperationRefused):
    reason = "invalid-note"


class FileError(OperationRefused):
    reason = "file-refused"


class FileTooLarge(FileError):
    reason = "too-large"


class EmptyFile(FileError):
    reason = "empty-file"


class BadFileName(FileError):
    reason = "invalid-file-name"


class FileTypeNotAllowed(FileError):
    reason = "file-type-not-allowed"


class UnknownFile(FileError):
    reason = "unknown-file"


class BadLink(FileError):
    reason = "invalid-link"


class QuotaExceeded(FileError):
    reason = "quota-exceeded"


class UploadMismatch(FileError):
    """
    An upload that is not what its slot was given for: another length or
    type, or a slot already used.
    """

    reason = "upload-mismatch"


class MailNotConfigured(OperationRefused):
    reason = "mail-not-configured"


class InvalidAddress(OperationRefused):
    reason = "invalid-address"


class HeaderInjection(InvalidAddress):
    reason = "header-injection"

__all__ = [
    "ChatError",
    "GatewayError",
    "DuplicateGateway",
    "UnknownGateway",
    "ComponentError",
    "DuplicateComponent",
    "DuplicateIdentity",
    "UnknownComponent",
    "OperationRefused",
    "NotYourChat",
    "NotPermitted",
    "TransferPending",
    "SelfTransfer",
    "TargetUnavailable",
    "InvalidTag",
    "InvalidCanned",
    "InvalidNote",
    "DuplicateTag",
    "UnknownTag",
    "DuplicateCanned",
    "UnknownCanned",
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
    "QuotaExceeded",
    "UploadMismatch",
    "NotYourChat",
    "MailNotConfigured",
    "InvalidAddress",
    "HeaderInjection",
]


class GatewayError(ChatError):
    """
    A gateway setting refused (a number that is not E.164, a queue that
    does not exist, missing credentials); the message says which, and why.
    """

    reason = "invalid-gateway"

    def __init__(self, message, field=None):
        ChatError.__init__(self, message)
        self.field = field


class ComponentError(ChatError):
    """
    A component or queue address refused (a domain that is not one, an
    address taken by an account); the message says which, and why.
    """

    reason = "invalid-component"

    def __init__(self, message, field=None):
        ChatError.__init__(self, message)
        self.field = field
