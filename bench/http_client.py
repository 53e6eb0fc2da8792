# -*- test-case-name: bench.tests.test_http_client -*-
"""
A small HTTP/1.1 client on asyncio streams, for the benchmark's visitors:
one keep-alive connection per use, JSON in and out, one request at a time,
as a browser's C{fetch} does for one widget.  Thousands of them run in one
process, so it does nothing else.
"""

import asyncio
import json

HEADERS_END = b"\r\n\r\n"


class HttpError(Exception):
    """
    The server answered something that is not HTTP/1.1 as we know it.
    """


class Connection:
    """
    One keep-alive connection to a server on loopback.
    """

    def __init__(self, reader, writer, host):
        self.reader = reader
        self.writer = writer
        self.host = host

    @classmethod
    async def open(cls, port, host="127.0.0.1"):
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def request(self, method, path, body=None):
        """
        Send one request, with C{body} as JSON when given; return the
        status code and the decoded JSON answer (C{None} when empty).
        """
        payload = b"" if body is None else json.dumps(body).encode()
        status, _, content = await self.exchange(
            method, path, payload, {"Content-Type": "application/json"}
        )
        return status, json.loads(content) if content else None

    def send_request(self, method, path, payload=b"", headers=None):
        """
        Write one request with the bytes C{payload} and C{headers}, without
        waiting for its answer (L{read_response} reads it).
        """
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        lines.append(f"Content-Length: {len(payload)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)

    async def exchange(self, method, path, payload=b"", headers=None, sink=None):
        """
        Send one request with the bytes C{payload} and C{headers}; return
        the status code, the answer's headers (names in lower case, the
        last of each) and its body as bytes.  With C{sink}, a function, a
        chunked body goes to it chunk by chunk as it comes instead.
        """
        self.send_request(method, path, payload, headers)
        return await self.read_response(sink)

    async def read_response(self, sink=None):
        """
        The status code, headers and body of the next answer on this
        connection (see L{exchange} for C{sink}).
        """
        status, answer_headers = await self._read_head()
        if answer_headers.get("transfer-encoding", "").lower() == "chunked":
            content = await self._read_chunks(sink)
        elif "content-length" in answer_headers:
            content = await self.reader.readexactly(int(answer_headers["content-length"]))
        else:
            content = await self.reader.read()
        if answer_headers.get("connection", "").lower() == "close":
            self.close()
        return status, answer_headers, content

    async def _read_head(self):
        try:
            head = await self.reader.readuntil(HEADERS_END)
        except asyncio.IncompleteReadError as cut:
            raise ConnectionError("the server closed the connection") from cut
        status_line, *lines = head[: -len(HEADERS_END)].decode("latin-1").split("\r\n")
        version, _, rest = status_line.partition(" ")
        if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
            raise HttpError(f"not an HTTP/1 answer: {status_line!r}")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(rest[:3]), headers

    async def _read_chunks(self, sink=None):
        content = b""
        while True:
            size_line = await self.reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0], 16)
            if size == 0:
                # Trailers, if any, end with an empty line.
                while await self.reader.readuntil(b"\r\n") != b"\r\n":
                    pass
                return content
            chunk = (await self.reader.readexactly(size + 2))[:-2]
            if sink is None:
                content += chunk
            else:
                sink(chunk)

    def close(self):
        self.writer.close()
