# -*- test-case-name: tests.test_sms_gateways -*-
"""
Telnyx's wire format.  Inbound: JSON events (C{message.received} for a
text), signed with Ed25519 over C{timestamp|body}: the signature in
C{telnyx-signature-ed25519}, the timestamp in C{telnyx-timestamp}, within
five minutes of now.  Outbound: C{POST /v2/messages} with a bearer key.
"""

import base64
import binascii
import json

import treq
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from twisted.internet import defer
from zope.interface import implementer

from mcc.gateways.sms import BadWebhook
from mcc.routing.gateways import Inbound, SendFailed
from mcc.routing.interfaces import ISMSProvider

API = "https://api.telnyx.com"
TOLERANCE = 300.0
"""
Seconds a signed webhook stays good: an older one is a replay.
"""
MAX_MEDIA = 10


def _text(value, name):
    if not isinstance(value, str):
        raise BadWebhook(f"{name} is missing")
    return value


@implementer(ISMSProvider)
class Telnyx:
    """
    @param http: a C{treq.HTTPClient}.
    @param clock: what the webhooks' timestamps are checked against.
    @param base_url: where Telnyx's REST API is (a fake one in tests).
    """

    name = "telnyx"

    def __init__(self, http, clock, base_url=API):
        self.http = http
        self.clock = clock
        self.base_url = base_url.rstrip("/")

    # Inbound

    def parse(self, request, body):
        kind = (request.getHeader(b"content-type") or b"").decode("latin-1").split(";")[0].strip().lower()
        if kind != "application/json":
            raise BadWebhook("Telnyx posts application/json")
        try:
            event = json.loads(body)
            data = event["data"]
            payload = data["payload"]
            if data["event_type"] == "message.received":
                to = payload["to"][0]["phone_number"]
            else:  # Delivery reports about a text sent: our number sent it.
                to = payload["from"]["phone_number"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise BadWebhook("not a Telnyx messaging event") from None
        return _text(to, "the number texted"), data

    def verify(self, gateway, request, body, data, url):
        signature = request.getHeader(b"telnyx-signature-ed25519")
        timestamp = request.getHeader(b"telnyx-timestamp")
        if not signature or not timestamp:
            return "no telnyx-signature-ed25519 or telnyx-timestamp"
        try:
            at = int(timestamp)
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(gateway.public_key))
            key.verify(base64.b64decode(signature, validate=True), timestamp + b"|" + body)
        except (ValueError, binascii.Error, InvalidSignature):
            return "wrong telnyx-signature-ed25519"
        if abs(self.clock.seconds() - at) > TOLERANCE:
            return "telnyx-timestamp is more than five minutes away: a replay"
        return None

    def inbound(self, data):
        """
        The text of a C{message.received} event; C{None} for the others.
        """
        if data.get("event_type") != "message.received":
            return None
        payload = data["payload"]
        try:
            sender = _text(payload["from"]["phone_number"], "from")
            media = payload.get("media") or []
            if not isinstance(media, list) or len(media) > MAX_MEDIA:
                raise BadWebhook("media is a list of at most ten")
            urls = tuple(_text(item.get("url"), "a media url") for item in media)
            text = payload.get("text") or ""
            event_id = _text(data.get("id"), "id")
        except (KeyError, TypeError, AttributeError):
            raise BadWebhook("not a Telnyx message") from None
        if not isinstance(text, str) or not 0 < len(event_id) <= 100:
            raise BadWebhook("not a Telnyx message")
        return Inbound(event_id, sender, text, urls)

    def answer(self, request):
        request.setHeader(b"content-type", b"application/json")
        return b"{}"

    # Outbound

    @defer.inlineCallbacks
    def send(self, gateway, to, text):
        response = yield self.http.post(
            f"{self.base_url}/v2/messages",
            json={"from": gateway.number, "to": to, "text": text},
            headers={"Authorization": f"Bearer {gateway.secret}"},
        )
        body = yield treq.content(response)
        if 200 <= response.code < 300:
            return json.loads(body or b"{}").get("data", {}).get("id")
        try:
            errors = json.loads(body).get("errors") or [{}]
            message = str(errors[0].get("detail") or errors[0].get("title") or "")
        except (ValueError, AttributeError, IndexError, TypeError):
            message = ""
        reason = f"Telnyx answered {response.code}" + (f": {message[:200]}" if message else "")
        if response.code in (401, 403):
            raise SendFailed(reason, retry=False, credentials=True)
        raise SendFailed(reason, retry=response.code == 429 or response.code >= 500)
