# -*- test-case-name: tests.test_sms_gateways -*-
"""
Twilio's wire format.  Inbound: a form post (MessageSid, From, To, Body,
NumMedia, MediaUrl0...) signed in C{X-Twilio-Signature}, the base64 of the
HMAC-SHA1, keyed with the auth token, of the full URL followed by every
parameter, sorted by name, as name and value; answered with empty TwiML.
Outbound: C{POST /2010-04-01/Accounts/SID/Messages.json} with basic auth.
"""

import base64
import hashlib
import hmac
import json
import re
from urllib.parse import parse_qs

import treq
from twisted.internet import defer
from zope.interface import implementer

from mcc.gateways.sms import BadWebhook
from mcc.routing.gateways import Inbound, SendFailed
from mcc.routing.interfaces import ISMSProvider

API = "https://api.twilio.com"
SID = re.compile(r"[A-Za-z0-9]{1,64}")
MAX_MEDIA = 10
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'


def signature(auth_token, url, params):
    """
    What Twilio puts in C{X-Twilio-Signature} for a post of C{params}
    (C{name -> [values]}) to C{url}.
    """
    data = url + "".join(name + value for name in sorted(params) for value in params[name])
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _one(params, name, required=True):
    values = params.get(name)
    if not values:
        if required:
            raise BadWebhook(f"{name} is missing")
        return ""
    if len(values) > 1:
        raise BadWebhook(f"{name} is given twice")
    return values[0]


@implementer(ISMSProvider)
class Twilio:
    """
    @param http: a C{treq.HTTPClient}.
    @param base_url: where Twilio's REST API is (a fake one in tests).
    """

    name = "twilio"

    def __init__(self, http, base_url=API):
        self.http = http
        self.base_url = base_url.rstrip("/")

    # Inbound

    def parse(self, request, body):
        kind = (request.getHeader(b"content-type") or b"").decode("latin-1").split(";")[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            raise BadWebhook("Twilio posts application/x-www-form-urlencoded")
        try:
            params = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
        except (UnicodeDecodeError, ValueError):
            raise BadWebhook("the form cannot be read") from None
        return _one(params, "To"), params

    def verify(self, gateway, request, body, params, url):
        """
        Why the request is not Twilio's for C{gateway}, or C{None}.
        """
        given = request.getHeader(b"x-twilio-signature")
        if not given:
            return "no X-Twilio-Signature"
        if not hmac.compare_digest(given, signature(gateway.secret, url, params).encode("ascii")):
            return "wrong X-Twilio-Signature"
        return None

    def inbound(self, params):
        sid = _one(params, "MessageSid")
        if not SID.fullmatch(sid):
            raise BadWebhook("MessageSid is not a Twilio id")
        try:
            count = int(_one(params, "NumMedia", required=False) or 0)
        except ValueError:
            raise BadWebhook("NumMedia is not a number") from None
        if not 0 <= count <= MAX_MEDIA:
            raise BadWebhook(f"NumMedia is 0 to {MAX_MEDIA}")
        media = tuple(_one(params, f"MediaUrl{n}") for n in range(count))
        if not all(url.startswith("https://") or url.startswith("http://") for url in media):
            raise BadWebhook("a MediaUrl is not a web address")
        return Inbound(sid, _one(params, "From"), _one(params, "Body", required=False), media)

    def answer(self, request):
        request.setHeader(b"content-type", b"text/xml; charset=utf-8")
        return EMPTY_TWIML

    # Outbound

    @defer.inlineCallbacks
    def send(self, gateway, to, text):
        url = f"{self.base_url}/2010-04-01/Accounts/{gateway.account}/Messages.json"
        response = yield self.http.post(
            url, data={"To": to, "From": gateway.number, "Body": text},
            auth=(gateway.account, gateway.secret),
        )
        body = yield treq.content(response)
        if 200 <= response.code < 300:
            return json.loads(body or b"{}").get("sid")
        raise _failure(response.code, body)


def _failure(code, body):
    try:
        message = str(json.loads(body).get("message", ""))
    except (ValueError, AttributeError):
        message = ""
    reason = f"Twilio answered {code}" + (f": {message[:200]}" if message else "")
    if code in (401, 403):
        return SendFailed(reason, retry=False, credentials=True)
    return SendFailed(reason, retry=code == 429 or code >= 500)
