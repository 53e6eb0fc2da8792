# -*- test-case-name: tests.test_admin_gateways,tests.test_sms_admin_browser,tests.test_admin_components -*-
"""
The admin site's Gateways tab: SMS gateways, each a phone number at Twilio
or Telnyx that rings a queue or a user.  Credentials go in and are never
shown again in full (their last four characters only); each gateway's page
gives the webhook address to paste into the provider's console and what it
did last.  Its XMPP page lists the components bridges attach as (each
secret shown once, when made) and the queues' XMPP addresses.
"""

import functools
from datetime import datetime, UTC

from klein import Klein
from werkzeug.exceptions import NotFound

from mcc.admin.shell import form_flag, form_text
from mcc.gateways.sms import webhook_url
from mcc.routing.errors import (
    ComponentError, DuplicateComponent, DuplicateGateway, DuplicateIdentity, GatewayError,
    UnknownComponent, UnknownGateway,
)
from mcc.routing.gateways import last_four

FIELDS = ("provider", "number", "account", "secret", "public_key", "target", "offline_reply")
PROVIDER_NAMES = {"twilio": "Twilio", "telnyx": "Telnyx"}


def _when(at):
    if at is None:
        return "never"
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


class GatewaysTab:
    """
    The tab for one request of a signed-in administrator, under
    C{/admin/gateways}.

    @param gateways: the L{mcc.routing.gateways.SMSGateways} rules, or
        C{None} on a site started without them.
    @param public_url: returns the base URL providers reach mcc at.
    """

    app = Klein()

    def __init__(self, gateways, public_url, components, site, visit):
        """
        @param components: the L{mcc.routing.components.RemoteVisitors} of
            XMPP components and queue addresses, or C{None}.
        """
        self.gateways = gateways
        self.components = components
        self.public_url = public_url
        self.site = site
        self.visit = visit

    def resource(self):
        return self.app.resource()

    @app.handle_errors(UnknownGateway, UnknownComponent, NotFound)
    def not_found(self, request, failure):
        if failure.check(NotFound):
            return self.site.not_found(request)
        return self.site.not_found(request, failure.value)

    def _page(self, request, template, status=200, selected=None, **context):
        if self.gateways is None and self.components is None:
            return self.site.page(
                request, self.visit, "placeholder.html", title="Gateways",
                summary="Add-ons such as SMS chat and IM identities.",
            )
        return self.site.page(
            request, self.visit, template, status=status,
            gateways=self.gateways.all() if self.gateways is not None else [],
            selected=selected, providers=PROVIDER_NAMES, when=_when, last_four=last_four,
            **context,
        )

    def _targets(self):
        queues = [(f"queue:{q.name}", f"Queue {q.name}") for q in self.site.queues.all()]
        users = [(f"user:{u.username}", f"User {u.username}") for u in self.site.accounts.all()]
        return queues + users

    def _form(self, request, template, values, selected=None, status=200, error=None, **context):
        return self._page(
            request, template, status=status, selected=selected, values=values, error=error,
            targets=self._targets(), **context,
        )

    @staticmethod
    def _values(request):
        values = {name: form_text(request, name) for name in FIELDS}
        values["concatenate"] = form_flag(request, "concatenate")
        return values

    @staticmethod
    def _fields(values):
        kind, _, name = values["target"].partition(":")
        return {
            "provider": values["provider"], "number": values["number"], "account": values["account"],
            "secret": values["secret"], "public_key": values["public_key"],
            "queue": name if kind == "queue" else None, "user": name if kind == "user" else None,
            "offline_reply": values["offline_reply"], "concatenate": values["concatenate"],
        }

    @staticmethod
    def _stored_values(gateway):
        return {
            "provider": gateway.provider, "number": gateway.number, "account": gateway.account,
            "secret": "", "public_key": "",
            "target": f"queue:{gateway.queue}" if gateway.queue else f"user:{gateway.target_user}",
            "offline_reply": gateway.offline_reply, "concatenate": gateway.concatenate,
        }

    def _gateway(self, gateway_id):
        if self.gateways is None:
            raise NotFound()
        return self.gateways.get(int(gateway_id))

    @app.route("/", methods=["GET"], strict_slashes=False)
    def gateway_list(self, request):
        return self._page(request, "gateways/index.html")

    @app.route("/new", methods=["GET"])
    def new_form(self, request):
        values = dict.fromkeys(FIELDS, "")
        values.update(provider="twilio", concatenate=False)
        return self._form(request, "gateways/new.html", values)

    @app.route("/", methods=["POST"], strict_slashes=False)
    def create(self, request):
        values = self._values(request)
        try:
            gateway = self.gateways.add(**self._fields(values))
        except (GatewayError, DuplicateGateway) as problem:
            values["secret"] = values["public_key"] = ""
            return self._form(request, "gateways/new.html", values, status=400, error=problem)
        return self.site.done(
            request, self.visit, f"Added the SMS gateway {gateway.number}.", f"/admin/gateways/{gateway.id}"
        )

    def _show(self, request, gateway, values=None, status=200, error=None):
        return self._form(
            request, "gateways/show.html", values or self._stored_values(gateway), selected=gateway,
            status=status, error=error, webhook=webhook_url(self.public_url(), gateway.provider),
        )

    @app.route("/<int:gateway_id>", methods=["GET"])
    def show(self, request, gateway_id):
        return self._show(request, self._gateway(gateway_id))

    @app.route("/<int:gateway_id>", methods=["POST"])
    def update(self, request, gateway_id):
        gateway = self._gateway(gateway_id)
        values = self._values(request)
        try:
            self.gateways.update(gateway.id, **self._fields(values))
        except (GatewayError, DuplicateGateway) as problem:
            values["secret"] = values["public_key"] = ""
            return self._show(request, gateway, values, status=400, error=problem)
        return self.site.done(request, self.visit, "Saved the gateway.", f"/admin/gateways/{gateway.id}")

    @app.route("/<int:gateway_id>/disable", methods=["POST"])
    def disable(self, request, gateway_id):
        gateway = self._gateway(gateway_id)
        enable = form_text(request, "enable") == "1"
        self.gateways.set_disabled(gateway.id, not enable)
        message = "Enabled the gateway." if enable else "Disabled the gateway: its webhooks get 404."
        return self.site.done(request, self.visit, message, f"/admin/gateways/{gateway.id}")

    @app.route("/<int:gateway_id>/delete", methods=["GET"])
    def delete_form(self, request, gateway_id):
        return self._page(request, "gateways/delete.html", selected=self._gateway(gateway_id))

    @app.route("/<int:gateway_id>/delete", methods=["POST"])
    def delete(self, request, gateway_id):
        gateway = self._gateway(gateway_id)
        self.gateways.delete(gateway.id)
        return self.site.done(request, self.visit, f"Deleted the gateway {gateway.number}.", "/admin/gateways")


    # XMPP: components and queue identities

    def _xmpp(self, request, status=200, error=None, secret=None, created=None):
        if self.components is None:
            raise NotFound()
        identities = {identity.queue: identity.address for identity in self.components.identities()}
        return self._page(
            request, "gateways/xmpp.html", status=status, error=error, secret=secret,
            created=created, components=self.components.components(),
            queues=self.site.queues.all(), identities=identities,
        )

    @app.route("/xmpp", methods=["GET"])
    def xmpp(self, request):
        return self._xmpp(request)

    @app.route("/xmpp/components", methods=["POST"])
    def add_component(self, request):
        if self.components is None:
            raise NotFound()
        try:
            component, secret = self.components.add_component(
                form_text(request, "domain"), form_text(request, "protocol")
            )
        except (ComponentError, DuplicateComponent) as problem:
            return self._xmpp(request, status=400, error=problem)
        # The secret shows this once: the page is not a redirect.
        return self._xmpp(request, secret=secret, created=component)

    @app.route("/xmpp/components/<int:component_id>/disable", methods=["POST"])
    def disable_component(self, request, component_id):
        enable = form_text(request, "enable") == "1"
        component = self.components.set_component_disabled(component_id, not enable)
        word = "Enabled" if enable else "Disabled"
        return self.site.done(request, self.visit, f"{word} the component {component.domain}.", "/admin/gateways/xmpp")

    @app.route("/xmpp/components/<int:component_id>/delete", methods=["POST"])
    def delete_component(self, request, component_id):
        component = self.components.component(component_id)
        self.components.delete_component(component.id)
        return self.site.done(request, self.visit, f"Deleted the component {component.domain}.", "/admin/gateways/xmpp")

    @app.route("/xmpp/identities", methods=["POST"])
    def set_identity(self, request):
        if self.components is None:
            raise NotFound()
        queue = form_text(request, "queue")
        try:
            self.components.set_identity(queue, form_text(request, "address"))
        except (ComponentError, DuplicateIdentity) as problem:
            return self._xmpp(request, status=400, error=problem)
        return self.site.done(request, self.visit, f"Saved the XMPP address of {queue}.", "/admin/gateways/xmpp")


def gateways_tab(gateways=None, public_url=lambda: "", components=None):
    """
    The server of the Gateways tab for L{Tab}, with C{gateways}, the SMS
    rules, and C{components}, the L{RemoteVisitors} of XMPP addresses.
    """
    return functools.partial(GatewaysTab, gateways, public_url, components)
