"""
The benchmark's HTTP/1.1 client against a scripted server.
"""

import asyncio
import json

import pytest

from bench.http_client import Connection, HttpError
from tests.conftest import asyncio_test

CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\n{\"a\":\r\n"
    b"5;ext=1\r\n [1]}\r\n"
    b"0\r\nX-Trailer: yes\r\n\r\n"
)
SIZED = b'HTTP/1.1 202 Accepted\r\nContent-Length: 9\r\nContent-Type: x\r\n\r\n{"seq":3}'
EMPTY = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"


class Scripted:
    """
    Answers each request with the next of C{answers}; keeps what it read.
    """

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests = []
        self.connections = 0

    async def handle(self, reader, writer):
        self.connections += 1
        try:
            while self.answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                self.requests.append((head, await reader.readexactly(length)))
                writer.write(self.answers.pop(0))
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()

    async def __aenter__(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def __aexit__(self, *failure):
        self.server.close()
        await self.server.wait_closed()


@asyncio_test
async def test_requests_share_one_connection_and_decode_json():
    script = Scripted([SIZED, CHUNKED, EMPTY])
    async with script as port:
        connection = await Connection.open(port)
        try:
            posted = await connection.request("POST", "/api/chats", {"text": "hé"})
            assert posted == (202, {"seq": 3})
            polled = await connection.request("GET", "/api/chats/t/events?after=3")
            assert polled == (200, {"a": [1]})
            assert await connection.request("POST", "/end") == (204, None)
        finally:
            connection.close()
    assert script.connections == 1
    (first_head, first_body), (second_head, second_body), _ = script.requests
    assert first_head.startswith(b"POST /api/chats HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{port}\r\n".encode() in first_head
    assert json.loads(first_body) == {"text": "hé"}
    assert b"Content-Length: " + str(len(first_body)).encode() in first_head
    assert second_head.startswith(b"GET /api/chats/t/events?after=3 HTTP/1.1\r\n")
    assert second_body == b""


@asyncio_test
async def test_an_answer_until_the_connection_closes():
    script = Scripted([b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"x": 1}'])
    async with script as port:
        connection = await Connection.open(port)
        assert await connection.request("GET", "/") == (200, {"x": 1})
        assert connection.writer.is_closing()


@asyncio_test
async def test_a_closed_connection_and_a_foreign_answer_are_errors():
    async with Scripted([]) as port:
        connection = await Connection.open(port)
        with pytest.raises(ConnectionError):
            await connection.request("GET", "/")
        connection.close()
    async with Scripted([b"SSH-2.0-OpenSSH\r\n\r\n"]) as port:
        connection = await Connection.open(port)
        with pytest.raises(HttpError, match="SSH"):
            await connection.request("GET", "/")
        connection.close()


@asyncio_test
async def test_a_chunked_body_can_go_to_a_sink_as_it_comes():
    async with Scripted([CHUNKED]) as port:
        connection = await Connection.open(port)
        try:
            chunks = []
            status, headers, content = await connection.exchange("GET", "/big", sink=chunks.append)
        finally:
            connection.close()
    assert (status, content, chunks) == (200, b"", [b'{"a":', b" [1]}"])
    assert headers["transfer-encoding"] == "chunked"
