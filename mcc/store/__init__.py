"""
All of mcc's SQL lives in this package; nothing else speaks to the database.
"""

from mcc.credentials import PasswordError
from mcc.store.archive import ArchivedMessage, MessageArchive
from mcc.store.canned import Canned, CannedMessages, DuplicateCanned, UnknownCanned
from mcc.store.chats import Chats, ChatState
from mcc.store.components import (
    Component,
    Components,
    DuplicateComponent,
    DuplicateIdentity,
    Identity,
    UnknownComponent,
)
from mcc.store.checkpoints import Checkpoints
from mcc.store.database import GroupCommit, open_database, transaction
from mcc.store.files import ChatFile, ChatFiles
from mcc.store.gateways import DuplicateGateway, Gateway, Gateways, UnknownGateway
from mcc.store.history import IP_POLICIES, OUTCOMES, ChatFilter, History, HistoryReaders
from mcc.store.messages import OfflineMessages, VCards
from mcc.store.personal import Blocklists, LastLogouts, PepItem, PepNodes, PrivateXML
from mcc.store.outbox import Outbox, OutgoingMail
from mcc.store.push import PushRegistrations
from mcc.store.queues import DuplicateQueue, Queue, Queues, UnknownQueue
from mcc.store.rosters import RosterItem, Rosters
from mcc.store.tags import DuplicateTag, Tag, Tags, UnknownTag
from mcc.store.uploads import UploadSlot, UploadSlots
from mcc.store.users import DuplicateUser, UnknownUser, User, UsernameError, Users
from mcc.store.widgets import (
    DuplicateSkin,
    DuplicateSnippet,
    ServiceLevel,
    Skin,
    SkinInUse,
    Skins,
    Snippet,
    Snippets,
    UnknownSkin,
    UnknownSnippet,
)


class Store:
    """
    The tables of one database, grouped by what they hold.
    """

    def __init__(self, db):
        self.db = db
        self._group = None
        self.users = Users(db)
        self.rosters = Rosters(db)
        self.offline = OfflineMessages(db)
        self.vcards = VCards(db)
        self.chats = Chats(db)
        self.queues = Queues(db)
        self.skins = Skins(db)
        self.snippets = Snippets(db)
        self.files = ChatFiles(db)
        self.outbox = Outbox(db)
        self.tags = Tags(db)
        self.canned = CannedMessages(db)
        self.history = History(db)
        self.gateways = Gateways(db)
        self.archive = MessageArchive(db)
        self.private = PrivateXML(db)
        self.pep = PepNodes(db)
        self.blocklists = Blocklists(db)
        self.last_logouts = LastLogouts(db)
        self.uploads = UploadSlots(db)
        self.push = PushRegistrations(db)
        self.components = Components(db)

    @classmethod
    def open(cls, path, background_checkpoints=False):
        """
        The store of the database at C{path}; see L{open_database} for
        C{background_checkpoints}.
        """
        return cls(open_database(path, background_checkpoints))

    def changes(self):
        """
        How many rows this store's connection has written since it opened:
        when it has not moved, there is nothing to checkpoint.
        """
        return self.db.conn.total_changes

    def transaction(self):
        return transaction(self.db)

    def commit_per_turn(self, call_soon, on_failure=None):
        """
        From now on, the chat path's writes of a reactor turn, and the
        times accounts sign out, share one transaction: the L{GroupCommit}
        returned, which says what waits.
        """
        group = GroupCommit(self.db.conn, call_soon, on_failure)
        self.chats.begin = self.archive.begin = self.last_logouts.begin = group.begin
        self._group = group
        return group

    def close(self):
        if self._group is not None:
            self._group.commit()
        self.db.conn.close()


__all__ = [
    "Store",
    "GroupCommit",
    "Checkpoints",
    "ChatFilter",
    "HistoryReaders",
    "IP_POLICIES",
    "OUTCOMES",
    "RosterItem",
    "User",
    "DuplicateUser",
    "UnknownUser",
    "UsernameError",
    "Queue",
    "DuplicateQueue",
    "UnknownQueue",
    "Skin",
    "DuplicateSkin",
    "SkinInUse",
    "UnknownSkin",
    "Snippet",
    "ServiceLevel",
    "DuplicateSnippet",
    "UnknownSnippet",
    "ChatFile",
    "OutgoingMail",
    "Tag",
    "DuplicateTag",
    "UnknownTag",
    "Canned",
    "DuplicateCanned",
    "UnknownCanned",
    "Gateway",
    "DuplicateGateway",
    "UnknownGateway",
    "ArchivedMessage",
    "PepItem",
    "Component",
    "DuplicateComponent",
    "UnknownComponent",
    "Identity",
    "DuplicateIdentity",
    "ChatState",
    "UploadSlot",
    "PasswordError",
]
