"""
Drive Debian's C{finch} (libpurple, the XMPP code of Pidgin) headless: a
prepared C{~/.purple} in a temporary home, and the terminal UI run in a
private tmux server whose screen the test reads and types into.
"""

import asyncio
import contextlib
import os
import secrets
import shutil
from pathlib import Path
from xml.sax.saxutils import escape

from tests.tools import run_tool

SCREEN_TIMEOUT = 10

ACCOUNTS = """<?xml version='1.0' encoding='UTF-8' ?>
<account version='1.0'><account>
  <protocol>prpl-jabber</protocol>
  <name>{jid}</name>
  <password>{password}</password>
  <settings>
    <setting name='connect_server' type='string'>{host}</setting>
    <setting name='port' type='int'>{port}</setting>
    <setting name='connection_security' type='string'>require_tls</setting>
  </settings>
  <settings ui='gnt-purple'><setting name='auto-login' type='bool'>1</setting></settings>
</account></account>
"""

# Without a key press finch goes "away" after some minutes and may answer
# messages automatically; a test must see plain availability.
PREFS = (
    "<pref version='1' name='/'><pref name='purple'><pref name='away'>"
    "<pref name='idle_reporting' type='string' value='none'/>"
    "<pref name='away_when_idle' type='bool' value='0'/>"
    "<pref name='auto_reply' type='string' value='never'/>"
    "</pref></pref></pref>\n"
)


def prepare_home(home, jid, password, host, port, certificate):
    """
    Write a C{~/.purple} that logs C{jid} in at start over STARTTLS.

    libpurple trusts a peer certificate found under C{tls_peers/<host>}, so
    the server's self-signed certificate is pinned there instead of
    answering the verification dialog.
    """
    purple = home / ".purple"
    peers = purple / "certificates" / "x509" / "tls_peers"
    peers.mkdir(parents=True)
    shutil.copyfile(certificate, peers / host)
    (purple / "accounts.xml").write_text(
        ACCOUNTS.format(jid=escape(jid), password=escape(password), host=host, port=port)
    )
    (purple / "prefs.xml").write_text(PREFS)


class Finch:
    """
    One finch process in its own tmux server (C{tmux -L}).
    """

    def __init__(self, home):
        self.home = home
        self.socket = f"mcc-finch-{secrets.token_hex(4)}"
        self.env = {**os.environ, "HOME": str(home)}
        self.env.pop("TMUX", None)
        self.socket_path = None

    async def tmux(self, *args):
        return await run_tool("tmux", "-f", "/dev/null", "-L", self.socket, *args, env=self.env)

    async def start(self):
        status, _, err = await self.tmux(
            "new-session", "-d", "-s", "finch", "-x", "200", "-y", "50", "finch"
        )
        assert status == 0, err
        # tmux leaves its socket behind when its server ends.
        _, out, _ = await self.tmux("display-message", "-p", "#{socket_path}")
        self.socket_path = out.strip()

    async def screen(self):
        _, out, _ = await self.tmux("capture-pane", "-p", "-t", "finch")
        return out

    async def wait_for_screen(self, text, timeout=SCREEN_TIMEOUT):
        """
        Wait until C{text} shows; long lines wrap, so look for short texts.
        """
        await self._wait(lambda screen: text in screen, f"{text!r} not on the screen", timeout)

    async def focus_next_window(self, timeout=SCREEN_TIMEOUT):
        """
        Bring the next window to the front (Alt+n): a new conversation
        opens behind the buddy list, which keeps the keyboard.
        """
        top = _first_line(await self.screen())
        await self.keys("M-n")
        await self._wait(
            lambda screen: _first_line(screen) != top, "no other window came to the front", timeout
        )

    async def _wait(self, condition, failure, timeout):
        async def poll():
            while not condition(await self.screen()):
                await asyncio.sleep(0.2)

        try:
            await asyncio.wait_for(poll(), timeout)
        except TimeoutError:
            raise AssertionError(f"{failure}; finch shows:\n{await self.screen()}") from None

    async def keys(self, *keys):
        await self.tmux("send-keys", "-t", "finch", *keys)

    async def type_line(self, text):
        await self.tmux("send-keys", "-t", "finch", "-l", text)
        await self.keys("Enter")

    async def running(self):
        status, _, _ = await self.tmux("has-session", "-t", "finch")
        return status == 0

    async def quit(self, timeout=5):
        """
        Quit from the menu (Alt+q), which logs the account out cleanly.
        """
        await self.keys("M-q")

        async def ended():
            while await self.running():
                await asyncio.sleep(0.1)

        await asyncio.wait_for(ended(), timeout)

    async def close(self):
        """
        End finch and its tmux server whatever state the test left them in.
        """
        if await self.running():
            # A finch stuck in some dialog ignores Alt+q: killed below.
            with contextlib.suppress(asyncio.TimeoutError):
                await self.quit()
        await self.tmux("kill-server")
        if self.socket_path:
            Path(self.socket_path).unlink(missing_ok=True)


def _first_line(screen):
    return screen.partition("\n")[0]
