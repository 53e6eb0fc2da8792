# -*- test-case-name: tests.test_sms_gateways -*-
"""
The SMS webhooks under C{/gateways/sms/PROVIDER}: a provider posts each text
a gateway's number receives here.  The body is read and parsed, the gateway
found by the number texted, the provider's signature checked, and only then
is anything stored; every refusal says why and leaves a log line.
"""

from klein import Klein
from twisted.logger import Logger
from werkzeug.exceptions import NotFound

from mcc.routing.errors import ChatError
from mcc.routing.gateways import is_e164

MAX_BODY = 64 * 1024
"""
The largest webhook body taken: a text of 1,600 characters and ten media
links, in either provider's format, is far smaller.
"""
MAX_TEXT = 2000
WEBHOOK_PATH = "/gateways/sms/"

log = Logger()


class BadWebhook(Exception):
    """
    A webhook body no provider sends.
    """


def webhook_url(base_url, provider):
    """
    The address to paste into C{provider}'s console.
    """
    return f"{base_url.rstrip('/')}{WEBHOOK_PATH}{provider}"


class Webhooks:
    """
    @param gateways: the L{mcc.routing.gateways.SMSGateways} rules.
    @param providers: C{name -> provider adapter} (L{mcc.gateways.twilio.Twilio}...).
    @param public_url: returns the base URL providers reach mcc at, which
        Twilio signs.
    """

    app = Klein()

    def __init__(self, gateways, providers, public_url):
        self.gateways = gateways
        self.providers = providers
        self.public_url = public_url

    def resource(self):
        return self.app.resource()

    @app.handle_errors(NotFound)
    def not_found(self, request, failure):
        return self._refuse(request, 404, "no such webhook")

    def _refuse(self, request, status, why, provider="-"):
        log.info(
            "SMS webhook {provider} refused ({status}): {why}", provider=provider, status=status, why=why
        )
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return (why + "\n").encode("utf-8")

    @app.route("/<provider>", methods=["POST"])
    def hook(self, request, provider):
        adapter = self.providers.get(provider)
        if adapter is None:
            return self._refuse(request, 404, "no such provider")
        body = request.content.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            return self._refuse(request, 400, "the body is too large", provider)
        try:
            to, parsed = adapter.parse(request, body)
        except BadWebhook as problem:
            return self._refuse(request, 400, str(problem), provider)
        if not is_e164(to):
            return self._refuse(request, 400, "the number texted is not in E.164 form", provider)
        gateway = self.gateways.gateway_for(provider, to)
        if gateway is None:
            return self._refuse(request, 404, f"no gateway has the number {to}", provider)
        url = self.public_url().rstrip("/") + request.uri.decode("utf-8", "replace")
        refusal = adapter.verify(gateway, request, body, parsed, url)
        if refusal:
            log.warn(
                "SMS webhook for gateway {gateway_id} refused: {why}", gateway_id=gateway.id, why=refusal
            )
            return self._refuse(request, 403, refusal, provider)
        try:
            inbound = adapter.inbound(parsed)
            if inbound is not None and len(inbound.text) > MAX_TEXT:
                raise BadWebhook("the text is too long")
            if inbound is not None:
                self.gateways.receive(gateway, inbound)
        except (BadWebhook, ChatError) as problem:
            return self._refuse(request, 400, str(problem), provider)
        return adapter.answer(request)
