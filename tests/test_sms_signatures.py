"""
The providers' webhook signatures, checked without a network: Twilio's
C{X-Twilio-Signature} against the example in Twilio's documentation, and
Telnyx's Ed25519 signature over C{timestamp|body} with a key pair made here.
The expected values are computed here with hmac and cryptography, not with
the code under test.
"""

import base64
import hashlib
import hmac
import json
from types import SimpleNamespace

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from twisted.internet.task import Clock

from mcc.gateways.telnyx import Telnyx
from mcc.gateways.twilio import Twilio, signature

# The example of https://www.twilio.com/docs/usage/security
DOCS_TOKEN = "12345"
DOCS_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOCS_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
DOCS_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


class Request:
    def __init__(self, **headers):
        self.headers = {name.lower().encode("ascii"): value for name, value in headers.items()}

    def getHeader(self, name):
        return self.headers.get(name.lower())


def expected_twilio(token, url, params):
    data = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def twilio_gateway(token=DOCS_TOKEN):
    return SimpleNamespace(secret=token, account="AC1", number="+18005551212")


def as_form(params):
    return {name: [value] for name, value in params.items()}


def test_the_documented_example_is_what_twilio_sends():
    assert expected_twilio(DOCS_TOKEN, DOCS_URL, DOCS_PARAMS) == DOCS_SIGNATURE
    assert signature(DOCS_TOKEN, DOCS_URL, as_form(DOCS_PARAMS)) == DOCS_SIGNATURE


def test_twilio_signature_is_accepted_and_any_change_refused():
    twilio = Twilio(http=None)
    good = Request(**{"X-Twilio-Signature": DOCS_SIGNATURE.encode()})
    form = as_form(DOCS_PARAMS)
    assert twilio.verify(twilio_gateway(), good, b"", form, DOCS_URL) is None
    assert twilio.verify(twilio_gateway("54321"), good, b"", form, DOCS_URL) == "wrong X-Twilio-Signature"
    changed = as_form({**DOCS_PARAMS, "Digits": "1235"})
    assert twilio.verify(twilio_gateway(), good, b"", changed, DOCS_URL) == "wrong X-Twilio-Signature"
    other_url = DOCS_URL.replace("foo=1", "foo=2")
    assert twilio.verify(twilio_gateway(), good, b"", form, other_url) == "wrong X-Twilio-Signature"
    assert twilio.verify(twilio_gateway(), Request(), b"", form, DOCS_URL) == "no X-Twilio-Signature"


def test_twilio_signs_repeated_parameters_in_order():
    form = {"Body": ["hi"], "MediaUrl0": ["https://a"], "From": ["+15551234567"]}
    flat = {"Body": "hi", "From": "+15551234567", "MediaUrl0": "https://a"}
    assert signature("tok", "https://x/y", form) == expected_twilio("tok", "https://x/y", flat)


NOW = 1_800_000_000


def telnyx_keys():
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return private, base64.b64encode(public).decode()


def signed(private, body, timestamp):
    stamp = str(timestamp).encode()
    sig = base64.b64encode(private.sign(stamp + b"|" + body))
    return Request(**{"telnyx-signature-ed25519": sig, "telnyx-timestamp": stamp})


BODY = json.dumps(
    {"data": {"event_type": "message.received", "id": "ev-1", "payload": {"text": "hi"}}}
).encode()


def telnyx_at(now=NOW):
    clock = Clock()
    clock.advance(now)
    return Telnyx(http=None, clock=clock)


def test_telnyx_signature_is_accepted():
    private, public = telnyx_keys()
    gateway = SimpleNamespace(public_key=public)
    assert telnyx_at().verify(gateway, signed(private, BODY, NOW), BODY, None, "") is None
    # Within the five minutes either way.
    assert telnyx_at().verify(gateway, signed(private, BODY, NOW - 299), BODY, None, "") is None
    assert telnyx_at().verify(gateway, signed(private, BODY, NOW + 299), BODY, None, "") is None


def test_telnyx_tampered_body_wrong_key_and_no_signature_refused():
    private, public = telnyx_keys()
    _, other_public = telnyx_keys()
    request = signed(private, BODY, NOW)
    tampered = BODY.replace(b'"hi"', b'"ho"')
    wrong = "wrong telnyx-signature-ed25519"
    assert telnyx_at().verify(SimpleNamespace(public_key=public), request, tampered, None, "") == wrong
    assert telnyx_at().verify(SimpleNamespace(public_key=other_public), request, BODY, None, "") == wrong
    restamped = Request(**{
        "telnyx-signature-ed25519": request.getHeader(b"telnyx-signature-ed25519"),
        "telnyx-timestamp": str(NOW + 1).encode(),
    })
    assert telnyx_at().verify(SimpleNamespace(public_key=public), restamped, BODY, None, "") == wrong
    refusal = telnyx_at().verify(SimpleNamespace(public_key=public), Request(), BODY, None, "")
    assert refusal == "no telnyx-signature-ed25519 or telnyx-timestamp"
    garbage = Request(**{"telnyx-signature-ed25519": b"not base64!", "telnyx-timestamp": b"x"})
    assert telnyx_at().verify(SimpleNamespace(public_key=public), garbage, BODY, None, "") == wrong


def test_telnyx_timestamp_outside_five_minutes_refused():
    private, public = telnyx_keys()
    gateway = SimpleNamespace(public_key=public)
    for stamp in (NOW - 301, NOW + 301, NOW - 86400):
        refusal = telnyx_at().verify(gateway, signed(private, BODY, stamp), BODY, None, "")
        assert refusal == "telnyx-timestamp is more than five minutes away: a replay", stamp
