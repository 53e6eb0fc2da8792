"""
A terminal program run headless in a private tmux server (C{tmux -L}): the
test reads its screen and types into it.
"""

import asyncio
import os
import secrets
from pathlib import Path

from tests.tools import run_tool

SCREEN_TIMEOUT = 10


class TmuxProgram:
    """
    One program in its own tmux server, in a session called C{name}.
    """

    name = "program"

    def __init__(self, home, env=None):
        self.home = home
        self.socket = f"mcc-{self.name}-{secrets.token_hex(4)}"
        self.env = {**os.environ, "HOME": str(home), **(env or {})}
        self.env.pop("TMUX", None)
        self.socket_path = None

    async def tmux(self, *args):
        return await run_tool("tmux", "-f", "/dev/null", "-L", self.socket, *args, env=self.env)

    async def start_command(self, command):
        status, _, err = await self.tmux(
            "new-session", "-d", "-s", self.name, "-x", "200", "-y", "50", command
        )
        assert status == 0, err
        # tmux leaves its socket behind when its server ends.
        _, out, _ = await self.tmux("display-message", "-p", "#{socket_path}")
        self.socket_path = out.strip()

    async def screen(self):
        _, out, _ = await self.tmux("capture-pane", "-p", "-t", self.name)
        return out

    async def wait_for_screen(self, text, timeout=SCREEN_TIMEOUT):
        """
        Wait until C{text} shows; long lines wrap, so look for short texts.
        """
        await self._wait(lambda screen: text in screen, f"{text!r} not on the screen", timeout)

    async def _wait(self, condition, failure, timeout):
        async def poll():
            while not condition(await self.screen()):
                await asyncio.sleep(0.2)

        try:
            await asyncio.wait_for(poll(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"{failure}; {self.name} shows:\n{await self.screen()}"
            ) from None

    async def keys(self, *keys):
        await self.tmux("send-keys", "-t", self.name, *keys)

    async def type_line(self, text):
        await self.tmux("send-keys", "-t", self.name, "-l", text)
        await self.keys("Enter")

    async def running(self):
        status, _, _ = await self.tmux("has-session", "-t", self.name)
        return status == 0

    async def wait_ended(self, timeout):
        async def ended():
            while await self.running():
                await asyncio.sleep(0.1)

        await asyncio.wait_for(ended(), timeout)

    async def kill(self):
        """
        End the program and its tmux server, and remove the socket.
        """
        await self.tmux("kill-server")
        if self.socket_path:
            Path(self.socket_path).unlink(missing_ok=True)
