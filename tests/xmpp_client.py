"""
slixmpp clients for the integration tests: log in over STARTTLS, checking
the server's certificate, and collect what arrives in queues.
"""

import asyncio

import slixmpp

TIMEOUT = 10


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password, mechanism=None, plugins=()):
        slixmpp.ClientXMPP.__init__(self, jid, password, sasl_mech=mechanism)
        for plugin in (
            "xep_0004", "xep_0030", "xep_0050", "xep_0054", "xep_0085", "xep_0092", "xep_0199",
            "xep_0203",
        ):
            self.register_plugin(plugin)
        for plugin in plugins:
            self.register_plugin(plugin)
        for plugin in plugins:
            self.register_plugin(plugin)
        self.messages = asyncio.Queue()
        self.presences = asyncio.Queue()
        self.chat_states = asyncio.Queue()
        self.ended = asyncio.Event()
        self.stream_errors = []
        self.add_event_handler("message", self.messages.put_nowait)
        self.add_event_handler("presence", self.presences.put_nowait)
        self.add_event_handler("chatstate", self.chat_states.put_nowait)
        self.add_event_handler("stream_error", self.stream_errors.append)
        self.add_event_handler("disconnected", lambda _: self.ended.set())

    async def next_message(self, timeout=TIMEOUT):
        return await asyncio.wait_for(self.messages.get(), timeout)

    async def presence_from(self, full_jid, kind="available", timeout=TIMEOUT):
        """
        Wait for a presence of C{kind} from C{full_jid}, skipping others.
        """

        async def wait():
            while True:
                presence = await self.presences.get()
                if presence["from"].full == full_jid and presence["type"] == kind:
                    return presence

        return await asyncio.wait_for(wait(), timeout)

    async def close(self):
        self.auto_reconnect = False
        if not self.ended.is_set():
            self.disconnect()
            await asyncio.wait_for(self.ended.wait(), TIMEOUT)
        # slixmpp leaves its output task pending; finish it here rather than
        # have asyncio complain when it is garbage collected.
        task = self._run_out_filters
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def login(
    server, jid, password, mechanism=None, presence=True, roster=True, plugins=(), direct_tls=False,
    host="127.0.0.1",
):
    """
    A L{Client} with a bound session (and, by default, roster and presence),
    with slixmpp's C{plugins} besides the usual ones; C{direct_tls} connects
    to the direct TLS port (XEP-0368) instead of using STARTTLS.  C{host} is
    the loopback address C{server} listens on.
    """
    client = Client(jid, password, mechanism, plugins)
    client.auto_reconnect = False
    client.ssl_context.load_verify_locations(str(server.certificate))
    started = asyncio.get_running_loop().create_future()
    client.add_event_handler("session_start", lambda _: started.done() or started.set_result(True))
    client.add_event_handler(
        "failed_all_auth", lambda _: started.done() or started.set_exception(AuthFailed(jid))
    )
    client.add_event_handler(
        "disconnected", lambda _: started.done() or started.set_exception(Disconnected(jid))
    )
    if direct_tls:
        client.enable_starttls = False
        client.enable_direct_tls = True
        client.connect(host, server.tls_port)
    else:
        client.connect(host, server.port)
    try:
        await asyncio.wait_for(started, TIMEOUT)
    except BaseException:
        await client.close()
        raise
    if roster:
        await client.get_roster()
    if presence:
        client.send_presence()
    return client


class AuthFailed(Exception):
    pass


class Disconnected(Exception):
    pass


async def until(predicate, timeout=TIMEOUT):
    """
    Wait until C{predicate()} holds, checking often.
    """

    async def poll():
        while not predicate():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)
