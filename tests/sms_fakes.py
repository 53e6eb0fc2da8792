"""
Local fakes of Twilio and Telnyx for the SMS gateway tests: a small web
server on 127.0.0.1 that records the REST calls mcc makes and answers like
the provider, and that signs and posts webhooks as the provider documents.
"""

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode

import treq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from klein import Klein
from twisted.internet.defer import Deferred
from twisted.web.server import Site

from mcc.gateways.twilio import signature


async def _wait(deferred):
    return await asyncio.wait_for(deferred.asFuture(asyncio.get_running_loop()), 10)


@dataclass
class Call:
    method: str
    path: str
    authorization: str
    form: dict = field(default_factory=dict)
    json: dict = field(default_factory=dict)


class FakeProvider:
    app = Klein()

    def __init__(self):
        self.calls = []
        self.answers = []
        """
        Status codes to answer the next calls with, in order; then success.
        """
        self.held = None
        """
        A list while the provider holds its answers (mcc is then mid-send):
        one Deferred per held call, to fire to answer it.
        """
        self.port = None

    def listen(self, reactor):
        self.port = reactor.listenTCP(0, Site(self.app.resource()), interface="127.0.0.1")
        return self

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port.getHost().port}"

    async def stop(self):
        await _wait(self.port.stopListening())

    def _record(self, request, body):
        auth = (request.getHeader(b"authorization") or b"").decode()
        call = Call(request.method.decode(), request.path.decode(), auth)
        kind = (request.getHeader(b"content-type") or b"").decode()
        if kind.startswith("application/x-www-form-urlencoded"):
            call.form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        elif kind.startswith("application/json"):
            call.json = json.loads(body)
        self.calls.append(call)
        code = self.answers.pop(0) if self.answers else None
        return call, code


class FakeTwilio(FakeProvider):
    app = Klein()

    def __init__(self, sid="AC" + "0" * 32, token="twilio-auth-token-1234"):
        FakeProvider.__init__(self)
        self.sid = sid
        self.token = token

    @app.route("/2010-04-01/Accounts/<sid>/Messages.json", methods=["POST"])
    def messages(self, request, sid):
        call, code = self._record(request, request.content.read())
        request.setHeader(b"content-type", b"application/json")
        expected = "Basic " + base64.b64encode(f"{self.sid}:{self.token}".encode()).decode()
        if code is None and (sid != self.sid or call.authorization != expected):
            code = 401
        if code:
            request.setResponseCode(code)
            message = "Authenticate" if code == 401 else "Internal error"
            return json.dumps({"code": 20003 if code == 401 else 20500, "message": message, "status": code}).encode()
        request.setResponseCode(201)
        answer = json.dumps({"sid": f"SM{len(self.calls):032d}", "status": "queued"}).encode()
        if self.held is None:
            return answer
        self.held.append(Deferred())
        return self.held[-1].addCallback(lambda _: answer)

    async def webhook(self, url, params, token=None, signed=True):
        """
        Post C{params} to C{url} as Twilio does, signed with the auth token.
        """
        headers = {"Content-Type": ["application/x-www-form-urlencoded"]}
        if signed:
            listed = {k: [v] for k, v in params.items()}
            headers["X-Twilio-Signature"] = [signature(token or self.token, url, listed)]
        return await _wait(treq.post(url, data=urlencode(params).encode(), headers=headers))


class FakeTelnyx(FakeProvider):
    app = Klein()

    def __init__(self, key="KEY0123456789telnyx"):
        FakeProvider.__init__(self)
        self.key = key
        self.private_key = Ed25519PrivateKey.generate()
        self.public_key = base64.b64encode(
            self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        ).decode()

    @app.route("/v2/messages", methods=["POST"])
    def messages(self, request):
        call, code = self._record(request, request.content.read())
        request.setHeader(b"content-type", b"application/json")
        if code is None and call.authorization != f"Bearer {self.key}":
            code = 401
        if code:
            request.setResponseCode(code)
            problem = {"code": "10009", "title": "Authentication failed", "detail": "The API key is wrong."}
            return json.dumps({"errors": [problem]}).encode()
        return json.dumps({"data": {"id": f"msg-{len(self.calls)}", "record_type": "message"}}).encode()

    async def webhook(self, url, event_id, sender, to, text, media=(), timestamp=None, signed=True):
        body = json.dumps({
            "data": {
                "event_type": "message.received", "id": event_id, "record_type": "event",
                "payload": {
                    "from": {"phone_number": sender}, "to": [{"phone_number": to}],
                    "text": text, "media": [{"url": u, "content_type": "image/jpeg"} for u in media],
                    "direction": "inbound", "type": "SMS",
                },
            },
            "meta": {"attempt": 1, "delivered_to": url},
        }).encode()
        stamp = str(int(time.time() if timestamp is None else timestamp)).encode()
        headers = {"Content-Type": ["application/json"], "telnyx-timestamp": [stamp]}
        if signed:
            headers["telnyx-signature-ed25519"] = [base64.b64encode(self.private_key.sign(stamp + b"|" + body))]
        return await _wait(treq.post(url, data=body, headers=headers))
