"""
The service listens where endpoint descriptions say: IPv6 here, and the
ports it really got when it asked for port 0.
"""

import asyncio
import socket

import pytest

from tests.conftest import asyncio_test, start_server, test_config as server_config


def has_ipv6_loopback():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


async def stop(running):
    await running.service.stopService().asFuture(asyncio.get_running_loop())
    running.store.close()


async def status_line(host, port):
    """
    The first line of the answer to a plain HTTP request for the sign-in page.
    """
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /admin/sign-in HTTP/1.0\r\n\r\n")
    line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    return line


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback (::1) here")
@asyncio_test
async def test_listening_on_ipv6_loopback(data_dir):
    config = server_config(
        data_dir,
        interface="::1",
        xmpp_listen="tcp6:0:interface=\\:\\:1",
        http_listen="tcp6:0:interface=\\:\\:1",
    )
    running = await start_server(config)
    try:
        assert await status_line("::1", running.http_port) == b"HTTP/1.0 200 OK\r\n"
        reader, writer = await asyncio.open_connection("::1", running.port)
        writer.write(
            b"<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client'"
            b" xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
        )
        assert b"starttls" in await asyncio.wait_for(reader.readuntil(b"</stream:features>"), 10)
        writer.close()
    finally:
        await stop(running)


@asyncio_test
async def test_the_default_descriptions_use_interface_and_ports(data_dir):
    running = await start_server(server_config(data_dir))
    try:
        assert running.port > 0 and running.http_port > 0
        assert await status_line("127.0.0.1", running.http_port) == b"HTTP/1.0 200 OK\r\n"
    finally:
        await stop(running)
