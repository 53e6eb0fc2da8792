# -*- test-case-name: tests.test_xmpp_pep -*-
"""
Personal eventing (XEP-0163): each account is a publish-subscribe service
of its own, with nodes created on first publish and configured with
publish-options (XEP-0060 section 7.1.5), enough for bookmarks (XEP-0402),
avatars (XEP-0084), nicknames (XEP-0172) and OMEMO's device lists and
bundles.  Notifications go to the account's resources and its presence
subscribers' that ask for them in their capabilities (C{NODE+notify}).
"""

from twisted.words.protocols.jabber import error
from twisted.words.xish import domish
from wokkel.subprotocols import IQHandlerMixin, XMPPHandler

from mcc.xmpp import jids
from mcc.xmpp import subscriptions as states
from mcc.xmpp.jids import localpart
from mcc.xmpp.namespaces import (
    NS_CLIENT,
    NS_DATA,
    NS_NODE_CONFIG,
    NS_PUBSUB,
    NS_PUBSUB_ERRORS,
    NS_PUBSUB_EVENT,
    NS_PUBSUB_OWNER,
)

MAX_ITEMS = 1000
"""
The most items a node keeps, what C{max_items} C{max} stands for.
"""
ACCESS_MODELS = ("open", "presence", "whitelist")
SEND_LAST = ("never", "on_sub", "on_sub_and_presence")
DEFAULT_CONFIG = {
    "access_model": "presence",
    "max_items": 1,
    "persist_items": True,
    "send_last_published_item": "on_sub_and_presence",
    "notify_retract": True,
}
FEATURES = tuple(
    f"{NS_PUBSUB}#{name}"
    for name in (
        "access-open",
        "access-presence",
        "access-whitelist",
        "auto-create",
        "auto-subscribe",
        "config-node",
        "create-nodes",
        "delete-items",
        "delete-nodes",
        "filtered-notifications",
        "item-ids",
        "last-published",
        "multi-items",
        "persistent-items",
        "publish",
        "publish-options",
        "retract-items",
        "retrieve-items",
    )
)
"""
What the personal eventing service does (XEP-0060 section 10), listed on
each account's bare JID with the identity C{pubsub/pep}.
"""

PUBSUB = f"/pubsub[@xmlns='{NS_PUBSUB}']"
OWNER = f"/pubsub[@xmlns='{NS_PUBSUB_OWNER}']"


def refusal(condition, pubsub_condition=None, text=None):
    app = None
    if pubsub_condition is not None:
        app = domish.Element((NS_PUBSUB_ERRORS, pubsub_condition))
    return error.StanzaError(condition, text=text, appCondition=app)


def _boolean(value):
    if value in ("1", "true"):
        return True
    if value in ("0", "false"):
        return False
    raise ValueError(value)


def _max_items(value):
    if value == "max":
        return MAX_ITEMS
    number = int(value)
    if not 1 <= number <= MAX_ITEMS:
        raise ValueError(value)
    return number


def _choice(choices):
    def convert(value):
        if value not in choices:
            raise ValueError(value)
        return value

    return convert


OPTIONS = {
    "access_model": _choice(ACCESS_MODELS),
    "max_items": _max_items,
    "persist_items": _boolean,
    "send_last_published_item": _choice(SEND_LAST),
    "notify_retract": _boolean,
}
"""
The node options understood, by field name without C{pubsub#}; the others
a client sends are accepted and have no effect.
"""


def read_options(form):
    """
    The options a data form sets, checked; C{not-acceptable} for a value
    that cannot be.
    """
    options = {}
    if form is None:
        return options
    for field in form.elements(NS_DATA, "field"):
        var = field.getAttribute("var", "")
        name = var.partition("pubsub#")[2]
        if name not in OPTIONS:
            continue
        value = next(field.elements(NS_DATA, "value"), None)
        text = "" if value is None else str(value).strip()
        try:
            options[name] = OPTIONS[name](text)
        except ValueError:
            raise refusal("not-acceptable", "unsupported-access-model"
                          if name == "access_model" else None,
                          f"{var} cannot be {text!r}") from None
    return options


def config_form(config, kind="form"):
    form = domish.Element((NS_DATA, "x"))
    form["type"] = kind
    hidden = form.addElement("field")
    hidden["var"], hidden["type"] = "FORM_TYPE", "hidden"
    hidden.addElement("value", content=NS_NODE_CONFIG)
    for name, value in sorted(config.items()):
        field = form.addElement("field")
        field["var"] = f"pubsub#{name}"
        if isinstance(value, bool):
            field["type"] = "boolean"
            value = "1" if value else "0"
        elif name in ("access_model", "send_last_published_item"):
            field["type"] = "list-single"
            for choice in ACCESS_MODELS if name == "access_model" else SEND_LAST:
                field.addElement("option").addElement("value", content=choice)
        else:
            field["type"] = "text-single"
        field.addElement("value", content=str(value))
    return form


def _form_in(parent, uri, name):
    wrapper = next(parent.elements(uri, name), None)
    return None if wrapper is None else next(wrapper.elements(NS_DATA, "x"), None)


class PersonalEventing(XMPPHandler, IQHandlerMixin):
    """
    The account's publish-subscribe service, in the accounts collection.
    """

    iqHandlers = {
        "/iq[@type='set']" + PUBSUB: "on_set",
        "/iq[@type='get']" + PUBSUB: "on_get",
        "/iq[@type='get']" + OWNER: "on_owner_get",
        "/iq[@type='set']" + OWNER: "on_owner_set",
    }

    def __init__(self, events, rosters, sessions, capabilities, new_id):
        XMPPHandler.__init__(self)
        self.events = events
        self.rosters = rosters
        self.sessions = sessions
        self.capabilities = capabilities
        self.new_id = new_id
        capabilities.on_learnt.append(self.send_last_items)

    def connectionInitialized(self):
        self.xmlstream.addObserver(
            f"/iq[@type='get' or @type='set']/pubsub[@xmlns='{NS_PUBSUB}' or @xmlns='{NS_PUBSUB_OWNER}']",
            self.handleRequest,
        )

    # Requests

    @staticmethod
    def _addresses(iq):
        requester = jids.parse(iq["from"]).userhost()
        owner = jids.parse(iq.getAttribute("to") or iq["from"]).userhost()
        return requester, owner

    def _own(self, iq):
        requester, owner = self._addresses(iq)
        if requester != owner:
            raise refusal("forbidden", text="only the account changes its own nodes")
        return owner

    @staticmethod
    def _node(element):
        node = element.getAttribute("node")
        if not node:
            raise refusal("bad-request", "nodeid-required")
        return node

    def _config(self, owner, node):
        config = self.events.config(localpart(owner), node)
        if config is None:
            raise refusal("item-not-found", text=f"no node {node!r}")
        return {**DEFAULT_CONFIG, **config}

    def on_set(self, iq):
        owner = self._own(iq)
        pubsub = iq.pubsub
        verbs = {child.name: child for child in pubsub.elements(NS_PUBSUB)}
        if "publish" in verbs:
            return self._publish(owner, verbs["publish"], _form_in(pubsub, NS_PUBSUB, "publish-options"))
        if "retract" in verbs:
            return self._retract(owner, verbs["retract"])
        if "create" in verbs:
            return self._create(owner, verbs["create"], _form_in(pubsub, NS_PUBSUB, "configure"))
        raise refusal("feature-not-implemented", "unsupported",
                      text="subscriptions follow presence subscriptions here")

    def _create(self, owner, create, form):
        node = self._node(create)
        if self.events.config(localpart(owner), node) is not None:
            raise error.StanzaError("conflict", text=f"{node!r} exists")
        self.events.configure(localpart(owner), node, {**DEFAULT_CONFIG, **read_options(form)})

    def _publish(self, owner, publish, form):
        node = self._node(publish)
        options = read_options(form)
        config = self.events.config(localpart(owner), node)
        if config is None:
            config = {**DEFAULT_CONFIG, **options}
            self.events.configure(localpart(owner), node, config)
        else:
            config = {**DEFAULT_CONFIG, **config}
            unmet = sorted(name for name, value in options.items() if config.get(name) != value)
            if unmet:
                raise refusal("conflict", "precondition-not-met",
                              f"the node's {', '.join(unmet)} differ")
        items = list(publish.elements(NS_PUBSUB, "item"))
        if len(items) != 1 or len(list(items[0].elements())) != 1:
            raise refusal("bad-request", "invalid-payload", "publish one item with one payload")
        (item,) = items
        item_id = item.getAttribute("id") or self.new_id()
        payload = item.firstChildElement()
        keep = config["max_items"] if config["persist_items"] else 1
        self.events.publish(localpart(owner), node, item_id, payload.toXml(), keep)
        self._notify(owner, node, config, self._item_event(node, item_id, payload.toXml()))
        reply = domish.Element((NS_PUBSUB, "pubsub"))
        published = reply.addElement("publish")
        published["node"] = node
        published.addElement("item")["id"] = item_id
        return reply

    def _retract(self, owner, retract):
        node = self._node(retract)
        config = self._config(owner, node)
        ids = [item.getAttribute("id") for item in retract.elements(NS_PUBSUB, "item")]
        if len(ids) != 1 or not ids[0]:
            raise refusal("bad-request", "item-required")
        if not self.events.retract(localpart(owner), node, ids[0]):
            raise refusal("item-not-found", text=f"no item {ids[0]!r}")
        if retract.getAttribute("notify") in ("1", "true") or config.get("notify_retract"):
            event, items = self._event(node)
            items.addElement("retract")["id"] = ids[0]
            self._notify(owner, node, config, event)

    def on_get(self, iq):
        requester, owner = self._addresses(iq)
        asked = next(iq.pubsub.elements(NS_PUBSUB, "items"), None)
        if asked is None:
            raise refusal("feature-not-implemented", "unsupported", "only items are read here")
        node = self._node(asked)
        config = self._config(owner, node)
        self._check_access(requester, owner, config)
        ids = [item["id"] for item in asked.elements(NS_PUBSUB, "item") if item.getAttribute("id")]
        limit = asked.getAttribute("max_items")
        if limit is not None and not limit.isdigit():
            raise error.StanzaError("bad-request", text="max_items is a number")
        found = self.events.items(
            localpart(owner), node, None if limit is None else int(limit), ids or None
        )
        reply = domish.Element((NS_PUBSUB, "pubsub"))
        items = reply.addElement("items")
        items["node"] = node
        for item in reversed(found):
            element = items.addElement("item")
            element["id"] = item.item_id
            # Raw: wokkel's parseXml drops the text of the root element.
            element.addRawXml(item.payload)
        return reply

    def on_owner_get(self, iq):
        owner = self._own(iq)
        configure = next(iq.pubsub.elements(NS_PUBSUB_OWNER, "configure"), None)
        if configure is None:
            raise refusal("feature-not-implemented", "unsupported")
        node = self._node(configure)
        reply = domish.Element((NS_PUBSUB_OWNER, "pubsub"))
        element = reply.addElement("configure")
        element["node"] = node
        element.addChild(config_form(self._config(owner, node)))
        return reply

    def on_owner_set(self, iq):
        owner = self._own(iq)
        verbs = {child.name: child for child in iq.pubsub.elements(NS_PUBSUB_OWNER)}
        if "configure" in verbs:
            node = self._node(verbs["configure"])
            config = self._config(owner, node)
            form = next(verbs["configure"].elements(NS_DATA, "x"), None)
            if form is None or form.getAttribute("type") == "cancel":
                return
            config.update(read_options(form))
            keep = config["max_items"] if config["persist_items"] else 1
            self.events.configure(localpart(owner), node, config, keep)
            return
        if "delete" in verbs:
            node = self._node(verbs["delete"])
            config = self._config(owner, node)
            self.events.delete(localpart(owner), node)
            event = domish.Element((NS_PUBSUB_EVENT, "event"))
            event.addElement("delete")["node"] = node
            self._notify(owner, node, config, event)
            return
        raise refusal("feature-not-implemented", "unsupported")

    def _check_access(self, requester, owner, config):
        if requester == owner or config["access_model"] == "open":
            return
        if config["access_model"] == "presence":
            item = self.rosters.get(localpart(owner), requester)
            if states.shares_presence(item):
                return
            raise refusal("not-authorized", "presence-subscription-required")
        raise refusal("not-allowed", "closed-node")

    # Notifications

    @staticmethod
    def _event(node):
        event = domish.Element((NS_PUBSUB_EVENT, "event"))
        items = event.addElement("items")
        items["node"] = node
        return event, items

    def _item_event(self, node, item_id, payload):
        event, items = self._event(node)
        item = items.addElement("item")
        item["id"] = item_id
        item.addRawXml(payload)
        return event

    def _audience(self, owner, config):
        """
        The sessions that may hear of C{owner}'s node: its own, and those
        of its presence subscribers unless the node is the owner's alone.
        """
        sessions = list(self.sessions.available(owner))
        if config["access_model"] != "whitelist":
            for item in self.rosters.items(localpart(owner)):
                if states.shares_presence(item):
                    sessions.extend(self.sessions.available(item.contact))
        return sessions

    def _notify(self, owner, node, config, event):
        for session in self._audience(owner, config):
            if self.capabilities.wants(session, node):
                self._send_event(owner, session, event)

    def _send_event(self, owner, session, event):
        message = domish.Element((NS_CLIENT, "message"))
        message["from"] = owner
        message["to"] = session.jid.full()
        message["type"] = "headline"
        message["id"] = self.new_id()
        message.addRawXml(event.toXml())
        session.send(message)

    def send_last_items(self, session):
        """
        C{session}'s client said which nodes it wants: give it the latest
        item of each such node of its account and of the contacts whose
        presence it receives (XEP-0163 section 4.3.2).
        """
        owners = [session.bare] + [
            item.contact
            for item in self.rosters.items(localpart(session.bare))
            if states.receives_presence(item) and jids.parse(item.contact).host == session.jid.host
        ]
        for owner in owners:
            for node, stored in self.events.nodes(localpart(owner)):
                config = {**DEFAULT_CONFIG, **stored}
                if not self.capabilities.wants(session, node):
                    continue
                if config["send_last_published_item"] == "never":
                    continue
                if owner != session.bare and config["access_model"] == "whitelist":
                    continue
                latest = self.events.items(localpart(owner), node, 1)
                if latest:
                    event = self._item_event(node, latest[0].item_id, latest[0].payload)
                    self._send_event(owner, session, event)
