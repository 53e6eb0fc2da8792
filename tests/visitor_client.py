"""
A visitor for the integration tests: the visitor API over real HTTP (treq).
"""

import asyncio

import treq

TIMEOUT = 40


async def wait(deferred, timeout=TIMEOUT):
    return await asyncio.wait_for(deferred.asFuture(asyncio.get_running_loop()), timeout)


async def call(method, url, body=None, headers=None):
    """
    The status code and JSON answer of one request.
    """
    response = await wait(treq.request(method, url, json=body, headers=headers))
    return response.code, await wait(treq.json_content(response))


class Visitor:
    def __init__(self, server, headers=None):
        self.api = server.http_url + "/api"
        self.headers = headers or {}
        self.token = None
        self.last = 0

    async def start(self, **fields):
        code, body = await call("POST", f"{self.api}/chats", fields, self.headers)
        if code == 201:
            self.token = body["token"]
        return code, body

    async def say(self, text):
        return await call("POST", f"{self.api}/chats/{self.token}/messages", {"text": text})

    async def typing(self, state):
        return await call("POST", f"{self.api}/chats/{self.token}/typing", {"state": state})

    async def end(self):
        return await call("POST", f"{self.api}/chats/{self.token}/end")

    async def poll(self):
        """
        One long poll from the last event seen; returns its events.
        """
        code, body = await call("GET", f"{self.api}/chats/{self.token}/events?after={self.last}")
        assert code == 200, body
        self.last = body["last"]
        self.state = body["state"]
        return body["events"]

    async def events_until(self, kind, text=None):
        """
        Poll until an event of C{kind} (with C{text}) arrives; all events seen.
        """
        seen = []
        while True:
            for event in await self.poll():
                seen.append(event)
                if event["kind"] == kind and (text is None or event.get("text") == text):
                    return seen
