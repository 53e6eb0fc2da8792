# -*- test-case-name: tests.test_uploads -*-
"""
HTTP upload (XEP-0363): the slot requests operators' clients send to the
server's JID, and the HTTP resource under C{/upload/} they put the file to
and anyone with its address gets it from.

The service is the server's own JID, which says so in its disco#info (the
C{store/file} identity, the feature, and a XEP-0128 form with the largest
file): Conversations, Gajim and slixmpp look there as well as among the
server's items, and a single JID needs no route of its own.
"""

import re
from urllib.parse import parse_qs, unquote

from twisted.internet import defer
from twisted.web import resource
from twisted.words.protocols.jabber.error import StanzaError
from twisted.words.xish import domish
from wokkel import data_form, disco
from wokkel.iwokkel import IDisco
from wokkel.subprotocols import IQHandlerMixin, XMPPHandler
from zope.interface import implementer

from mcc.routing.errors import (
    BadLink,
    FileError,
    FileTooLarge,
    QuotaExceeded,
    UnknownFile,
    UploadMismatch,
)
from mcc.web import content_disposition
from mcc.xmpp import jids
from mcc.xmpp.jids import localpart

NS_UPLOAD = "urn:xmpp:http:upload:0"
NS_OOB = "jabber:x:oob"
PUT_PATH = re.compile(rb"/upload/[^?#]+(\?[^#]*)?")
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
"""
What a client may show in place: pictures a browser does not run.
"""


@implementer(IDisco)
class HTTPUpload(XMPPHandler, IQHandlerMixin):
    """
    Slot requests to the server's JID, handed to the routing layer's
    L{mcc.routing.uploads.Uploads}.
    """

    REQUEST = f"/iq[@type='get']/request[@xmlns='{NS_UPLOAD}']"
    iqHandlers = {REQUEST: "on_request"}

    def __init__(self, uploads):
        XMPPHandler.__init__(self)
        self.uploads = uploads

    def connectionInitialized(self):
        self.xmlstream.addObserver(self.REQUEST, self.handleRequest)

    def getDiscoInfo(self, requestor, target, nodeIdentifier=""):
        if nodeIdentifier:
            return defer.succeed([])
        form = data_form.Form("result", formNamespace=NS_UPLOAD)
        form.addField(data_form.Field(var="max-file-size", value=str(self.uploads.max_size)))
        return defer.succeed([
            disco.DiscoIdentity("store", "file", "HTTP upload"),
            disco.DiscoFeature(NS_UPLOAD),
            form,
        ])

    def getDiscoItems(self, requestor, target, nodeIdentifier=""):
        return defer.succeed([])

    def on_request(self, iq):
        request = iq.request
        owner = localpart(jids.parse(iq["from"]).userhost())
        try:
            size = int(request.getAttribute("size", ""))
        except ValueError:
            raise StanzaError("bad-request", text="a slot request names the file's size in bytes") from None
        try:
            _, put, get = self.uploads.request_slot(
                owner, request.getAttribute("filename"), size, request.getAttribute("content-type")
            )
        except FileTooLarge as refusal:
            too_large = domish.Element((NS_UPLOAD, "file-too-large"))
            too_large.addElement("max-file-size", content=str(self.uploads.max_size))
            raise StanzaError("not-acceptable", text=str(refusal), appCondition=too_large) from None
        except QuotaExceeded as refusal:
            raise StanzaError("resource-constraint", "wait", text=str(refusal)) from None
        except FileError as refusal:
            raise StanzaError("bad-request", text=str(refusal)) from None
        slot = domish.Element((NS_UPLOAD, "slot"))
        slot.addElement("put")["url"] = put
        slot.addElement("get")["url"] = get
        return slot


def shared_url(message):
    """
    The address a message shares, if that is all it says: its XEP-0066
    out-of-band URL, or a body that is one address and nothing else.
    """
    for x in message.elements(NS_OOB, "x"):
        for url in x.elements(NS_OOB, "url"):
            return str(url).strip()
    text = str(message.body).strip() if message.body is not None else ""
    if re.fullmatch(r"https?://\S+", text):
        return text
    return None


HTTP_STATUS = {BadLink: 403, UploadMismatch: 403, FileTooLarge: 413, UnknownFile: 404}


def refusal_status(refusal):
    for kind, status in HTTP_STATUS.items():
        if isinstance(refusal, kind):
            return status
    return 400


def put_head(raw_path, headers):
    """
    What the head of a PUT says: the slot, its signed query, the length
    and type; C{None} for a path that names no slot.

    @param raw_path: the request's path as sent, query included.
    @param headers: its L{twisted.web.http_headers.Headers}.
    """
    path, _, query = raw_path.decode("ascii", "replace").partition("?")
    match = re.fullmatch(r"/upload/([A-Za-z0-9_-]+)/[^/]+", path)
    if match is None:
        return None
    args = parse_qs(query)

    def arg(name):
        return args.get(name, [None])[0]

    length = headers.getRawHeaders(b"content-length", [None])[0]
    try:
        length = None if length is None else int(length)
    except ValueError:
        length = -1
    content_type = headers.getRawHeaders(b"content-type", [None])[0]
    if content_type is not None:
        content_type = content_type.decode("latin-1").split(";")[0]
    return match.group(1), arg("expires"), arg("signature"), length, content_type


class UploadResource(resource.Resource):
    """
    C{/upload/ID/NAME}: PUT with the slot's signed query, then GET or HEAD
    by anyone who has the address.
    """

    isLeaf = True

    def __init__(self, uploads):
        resource.Resource.__init__(self)
        self.uploads = uploads

    def early_check(self, raw_path, headers, length):
        """
        The status refusing a PUT from its head alone, or C{None}: for
        L{mcc.web.BoundedRequest}, before the body is kept.
        """
        head = put_head(raw_path, headers)
        if head is None:
            return 404
        slot_id, expires, signature, _, content_type = head
        try:
            self.uploads.check_put(slot_id, expires, signature, length, content_type)
        except FileError as refusal:
            return refusal_status(refusal)
        return None

    def render_PUT(self, request):
        head = put_head(request.uri, request.requestHeaders)
        if head is None:
            return self._refuse(request, 404, "no such upload slot")
        request.content.seek(0)
        try:
            self.uploads.put(*head, request.content)
        except FileError as refusal:
            return self._refuse(request, refusal_status(refusal), str(refusal))
        request.setResponseCode(201)
        return b""

    def render_GET(self, request):
        parts = request.path.split(b"?", 1)[0].split(b"/")
        if len(parts) != 4:
            return self._refuse(request, 404, "no such file")
        try:
            slot, data = self.uploads.open(
                parts[2].decode("ascii"), unquote(parts[3].decode("ascii"), errors="strict")
            )
        except (FileError, UnicodeDecodeError):
            return self._refuse(request, 404, "no such file")
        how = "inline" if slot.content_type in INLINE_TYPES else "attachment"
        request.setHeader(b"content-type", slot.content_type.encode("ascii"))
        request.setHeader(b"content-disposition", content_disposition(how, slot.name))
        request.setHeader(b"x-content-type-options", b"nosniff")
        request.setHeader(b"content-security-policy", b"sandbox; default-src 'none'")
        request.setHeader(b"cache-control", b"public, max-age=31536000, immutable")
        request.setHeader(b"access-control-allow-origin", b"*")
        return data

    def _refuse(self, request, status, text):
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return text.encode("utf-8") + b"\n"
