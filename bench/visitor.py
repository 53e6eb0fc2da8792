# -*- test-case-name: bench.tests.test_visitor -*-
"""
A website visitor on mcc's HTTP API, as the widget behaves: its long polls
on one keep-alive connection, what it sends on another (a browser keeps a
poll open while it posts), or both on one when it only waits.
"""

import asyncio

from bench.http_client import Connection

API = "/api/chats"
OFFLINE = 409
RETRY_SECONDS = 0.1


class ChatRefused(Exception):
    """
    The API answered a visitor's request with an error.
    """

    def __init__(self, status, body):
        Exception.__init__(self, f"{status}: {body}")
        self.status = status


class Visitor:
    def __init__(self, polls, posts=None):
        self.polls = polls
        self.posts = posts or polls
        self.token = None
        self.last = 0
        self.state = None

    @classmethod
    async def connect(cls, http_port, separate_posts=True):
        polls = await Connection.open(http_port)
        if not separate_posts:
            return cls(polls)
        try:
            return cls(polls, await Connection.open(http_port))
        except BaseException:
            polls.close()
            raise

    async def _post(self, path, body, expected):
        status, answer = await self.posts.request("POST", path, body)
        if status != expected:
            raise ChatRefused(status, answer)
        return answer

    async def start(self, queue, name, patience=5.0):
        """
        Start a chat with C{queue}; while its operator is not available yet
        (just logged in), try again for up to C{patience} seconds.
        """
        give_up = asyncio.get_running_loop().time() + patience
        while True:
            try:
                answer = await self._post(API, {"queue": queue, "name": name}, 201)
                break
            except ChatRefused as refused:
                if refused.status != OFFLINE or asyncio.get_running_loop().time() >= give_up:
                    raise
            await asyncio.sleep(RETRY_SECONDS)
        self.token = answer["token"]
        self.state = answer["state"]

    async def say(self, text):
        await self._post(f"{API}/{self.token}/messages", {"text": text}, 202)

    async def end(self):
        await self._post(f"{API}/{self.token}/end", None, 200)

    async def poll(self):
        """
        One long poll from the last event seen: its events, maybe none.
        """
        path = f"{API}/{self.token}/events?after={self.last}"
        status, answer = await self.polls.request("GET", path)
        if status != 200:
            raise ChatRefused(status, answer)
        self.last = answer["last"]
        self.state = answer["state"]
        return answer["events"]

    @property
    def open(self):
        return self.state in ("waiting", "active")

    def close(self):
        self.polls.close()
        if self.posts is not self.polls:
            self.posts.close()
