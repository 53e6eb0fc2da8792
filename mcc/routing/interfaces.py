# -*- test-case-name: tests.test_routing_services,tests.test_routing_chats,tests.test_routing_operations -*-
"""
The boundaries of the routing layer, kept together.
"""

from zope.interface import Attribute, Interface


class IOperatorChannel(Interface):
    """
    How the router reaches operators; the XMPP server implements it, where
    every chat appears as a guest JID in the operator's own client.
    """

    def offer(chat, operators, transcript):
        """
        Ring C{operators} (usernames) with a new or returning C{chat};
        C{transcript} holds the messages said so far (chat events), for an
        operator who joins a conversation under way.
        """

    def resume(chat, operator, missed):
        """
        C{operator} of C{chat} is back after going offline: show the guest
        again and pass on C{missed}, what the visitor said meanwhile.
        """

    def deliver(chat, operator, text):
        """
        Pass the visitor's message C{text} to C{operator}.
        """

    def typing(chat, operator, state):
        """
        Show the visitor's chat state (C{"composing"} or C{"paused"}).
        """

    def notify(chat, operators, text):
        """
        Tell C{operators} something about C{chat} from the system.
        """

    def withdraw(chat, operators):
        """
        C{chat} is no longer there for C{operators}: it ended or went elsewhere.
        """

    def acknowledge(chat, operator, ref, how):
        """
        Tell C{operator} that the visitor's widget has their message C{ref}
        (their client's reference) C{how}: C{"received"} or C{"displayed"}.
        """



class IVisitorChannel(Interface):
    """
    How the router reaches the visitors of chats whose protocol cannot poll
    (SMS): it is given every event a visitor may see, as it happens.
    """

    idle_timeout = Attribute(
        "Seconds a silent visitor of this protocol stays in an open chat."
    )

    def event(chat, kind, data):
        """
        C{chat} has a new event C{kind} with C{data}, which its visitor may see.
        """


class IRemoteOutlet(Interface):
    """
    How queue identities reach remote JIDs: the XMPP server sends through
    the component (or, later, the server-to-server link) of their domain.
    Each call names the queue's address it comes from and the bare JID.
    """

    def message(sender, recipient, text):
        """
        A chat message.
        """

    def chat_state(sender, recipient, state):
        """
        An XEP-0085 chat state: composing, paused, active...
        """

    def presence(sender, recipient, available, status):
        """
        The address's presence: available or not, with a status text.
        """

    def subscribed(sender, recipient):
        """
        The address accepted C{recipient}'s subscription request.
        """


class ISMSProvider(Interface):
    """
    Sends texts through one SMS provider's API.
    """

    name = Attribute("The provider's word in a gateway record: twilio, telnyx.")

    def send(gateway, to, text):
        """
        Send C{text} from C{gateway}'s number to C{to}; a Deferred that fires
        once the provider accepted it, or fails with
        L{mcc.routing.gateways.SendFailed}.
        """


class IChatOperations(Interface):
    """
    What operators and admins do to a chat, from any adapter: chats by id,
    the actor by username; C{by_admin=True} acts as an administrator.
    Refusals raise L{mcc.routing.errors.OperationRefused} (or another
    C{ChatError}, or a store error re-exported there) with nothing changed.
    """

    def chat(chat_id):
        """
        The chat record, or C{UnknownChat}.
        """

    def transfer_targets(chat_id, operator, by_admin=False):
        """
        The queues and users the chat can be transferred to now.
        """

    def transfer(chat_id, operator, queue=None, user=None, note="", by_admin=False):
        """
        Ring C{queue} or C{user} with the chat; its operator keeps it until
        someone takes it, or gets it back after the answer time.
        """

    def end(chat_id, operator, by_admin=False):
        """
        End the chat.
        """

    def tags(chat_id):
        """
        The chat's tag names, as first written.
        """

    def add_tags(chat_id, operator, names, by_admin=False):
        """
        Tag the chat; returns its tags.
        """

    def remove_tag(chat_id, operator, name, by_admin=False):
        """
        Untag the chat; returns its tags.
        """

    def suggest_tags(prefix, limit=10):
        """
        Tag names in use that start with C{prefix}.
        """

    def all_tags():
        """
        Every tag name with how many chats carry it.
        """

    def rename_tag(name, new_name):
        """
        Rename a tag everywhere.
        """

    def merge_tags(name, into):
        """
        Retag C{name}'s chats with C{into}; C{name} goes.
        """

    def delete_tag(name):
        """
        Remove a tag from every chat.
        """

    def add_canned(name, text, queue=None, owner=None):
        """
        A canned message for C{queue}, or C{owner}'s own.
        """

    def update_canned(canned_id, name, text, owner=None):
        """
        Change a canned message (with C{owner}, only theirs).
        """

    def remove_canned(canned_id, owner=None):
        """
        Delete a canned message (with C{owner}, only theirs).
        """

    def queue_canned(queue):
        """
        A queue's shared canned messages.
        """

    def own_canned(owner):
        """
        An operator's own canned messages.
        """

    def canned_for(chat_id, operator):
        """
        The canned messages C{operator} can use in the chat, by name.
        """

    def send_canned(chat_id, operator, name):
        """
        Send a canned message as the operator's; returns its text.
        """

    def details(chat_id, operator, by_admin=False):
        """
        The visitor's details and earlier chats.
        """

    def canned_of(operator):
        """
        C{operator}'s own canned messages and their queues', as
        C{(queue name or None, canned)} pairs.
        """

    def open_chats_of(operator):
        """
        The open chats C{operator} holds or that ring for them, as
        C{(chat, "held" or "ringing")} pairs.
        """


class IAccounts(Interface):
    """
    Operator and admin accounts; the XMPP server signs operators in with it
    and closes the sessions of an account that changed.
    """

    on_sessions_ended = Attribute(
        "Callables given (username, reason) when an account's sessions must end."
    )

    def authenticate(username, password):
        """
        The enabled user whose password this is, else C{None}.
        """

    def find(username):
        """
        The user named C{username}, or C{None}.
        """

    def get(username):
        """
        The user named C{username}; raises L{UnknownUser}.
        """

    def all():
        """
        Every user.
        """


class IRosters(Interface):
    """
    Contact lists and the subscription requests that wait for an answer,
    by the owner's username and the contact's bare JID.
    """

    def items(owner):
        """
        C{owner}'s roster items, by contact.
        """

    def get(owner, contact):
        """
        C{owner}'s item for C{contact}, or C{None}.
        """

    def put(owner, item):
        """
        Add or replace C{owner}'s item for C{item.contact}.
        """

    def remove(owner, contact):
        """
        Drop C{owner}'s item for C{contact}, if any.
        """

    def add_request(owner, requester, stanza):
        """
        Keep C{requester}'s subscription request (serialized) until C{owner}
        answers it.
        """

    def requests(owner):
        """
        The requests waiting for C{owner}, serialized.
        """

    def has_request(owner, requester):
        """
        Whether C{requester} asked C{owner} and got no answer yet.
        """

    def remove_request(owner, requester):
        """
        Forget C{requester}'s request to C{owner}.
        """


class IOfflineStorage(Interface):
    """
    Messages kept for an account with nobody connected to take them.
    """

    def keep(owner, sender, stanza):
        """
        Keep the serialized C{stanza} from C{sender} for C{owner}, or raise
        L{StorageFull} or L{SenderTooFast} when the limits forbid it.
        """

    def take(owner):
        """
        Remove and return C{owner}'s messages (serialized), oldest first.
        """


class IVCards(Interface):
    """
    The profile each account publishes (vcard-temp), serialized.
    """

    def get(owner):
        """
        C{owner}'s vCard, or C{None}.
        """

    def put(owner, vcard):
        """
        Replace C{owner}'s vCard.
        """


class IMessageArchive(Interface):
    """
    Each account's archive of the messages it sent and was given (XEP-0313).
    """

    def keep(owner, contact, stanza):
        """
        Archive the serialized C{stanza} exchanged between C{owner} and the
        bare JID C{contact}; returns the new message's unique id.
        """

    def query(owner, contact=None, start=None, end=None, after=None, before=None, limit=None):
        """
        A page (L{mcc.routing.archive.ArchivePage}) of C{owner}'s messages;
        raises L{mcc.routing.archive.UnknownArchiveId} for an unknown
        C{after} or C{before}.
        """


class IPrivateStorage(Interface):
    """
    Private XML of each account (XEP-0049), by namespace and element name.
    """

    def get(owner, namespace, name):
        """
        The serialized element, or C{None}.
        """

    def put(owner, namespace, name, xml):
        """
        Replace the element C{xml} (serialized).
        """


class IPersonalEvents(Interface):
    """
    Each account's personal eventing nodes (XEP-0163): a configuration (a
    dict of options) and items, newest first.
    """

    def config(owner, node):
        """
        The node's configuration, or C{None} if there is no such node.
        """

    def nodes(owner):
        """
        C{(node, config)} for each of C{owner}'s nodes.
        """

    def configure(owner, node, config, keep=None):
        """
        Create the node or change its configuration; with C{keep}, keep
        only that many of its latest items.
        """

    def delete(owner, node):
        """
        Remove the node and its items.
        """

    def publish(owner, node, item_id, payload, keep):
        """
        Add or replace an item (serialized payload); keep the latest C{keep}.
        """

    def retract(owner, node, item_id):
        """
        Remove an item; whether it was there.
        """

    def items(owner, node, limit=None, item_ids=None):
        """
        The node's items, newest first: the latest C{limit} or those named.
        """


class IBlocklists(Interface):
    """
    The JIDs each account blocks (XEP-0191), as written.
    """

    def blocked(owner):
        """
        Every JID C{owner} blocks.
        """

    def is_blocked(owner, address):
        """
        Whether C{owner} blocks exactly C{address}.
        """

    def block(owner, addresses):
        """
        Add C{addresses} to the blocklist.
        """

    def unblock(owner, addresses=None):
        """
        Remove C{addresses}, or every JID, from the blocklist.
        """


class ILastActivity(Interface):
    """
    When each account last signed out (XEP-0012).
    """

    def signed_out(owner, status=""):
        """
        C{owner}'s last session ended now, leaving C{status}.
        """

    def last(owner):
        """
        C{(seconds since the epoch, status)} of the last logout, or C{None}.
        """


class IChatFiles(Interface):
    """
    Files sent in chats, by the visitor (C{token}, the chat's token) or by
    the operator who has the chat (C{operator}, a username).
    """

    max_size = Attribute("The largest file accepted, in bytes.")

    def check(chat_id, name, length=None, operator=None, token=None):
        """
        Refuse what cannot be sent before reading any of it; returns the
        name the file is shown under and the type it is served with.
        """

    def send(chat_id, name, source, length=None, operator=None, token=None):
        """
        Store the file read from C{source} and pass it on to the other side.
        """

    def open(chat_id, file_id, operator=None, token=None):
        """
        The file C{file_id} of chat C{chat_id} and its bytes.
        """

    def link(stored):
        """
        A signed link to the file C{stored} that expires.
        """

    def open_signed(file_id, expires, signature):
        """
        The file and its bytes for a signed link that has not expired.
        """

    def delete_files(chat_id):
        """
        Remove the files of chat C{chat_id}: its history is being purged.
        """


class IMailSender(Interface):
    """
    Sends one e-mail; an SMTP client in production.
    """

    sender = Attribute("The address e-mails come from.")

    def send(recipient, message):
        """
        Send C{message} (bytes, headers included) to C{recipient}; a
        Deferred that fires once the server accepted it.
        """


class ITranscriptMailer(Interface):
    """
    Chat transcripts by e-mail, sent in the background with retries.
    """

    def email_transcript(chat_id, to=None, operator=None, token=None):
        """
        Queue the transcript of chat C{chat_id} for C{to} (by default the
        address its visitor gave), asked by the chat's C{operator} or its
        visitor (C{token}); returns the queued e-mail.
        """
