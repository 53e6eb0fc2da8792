"""
Drive Debian's C{finch} (libpurple, the XMPP code of Pidgin) headless: a
prepared C{~/.purple} in a temporary home, and the terminal UI run in a
private tmux server whose screen the test reads and types into.
"""

import asyncio
import contextlib
import shutil
from xml.sax.saxutils import escape

from tests.tmux import SCREEN_TIMEOUT, TmuxProgram

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


class Finch(TmuxProgram):
    """
    One finch process in its own tmux server.
    """

    name = "finch"

    async def start(self):
        await self.start_command("finch")

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

    async def quit(self, timeout=5):
        """
        Quit from the menu (Alt+q), which logs the account out cleanly.
        """
        await self.keys("M-q")
        await self.wait_ended(timeout)

    async def close(self):
        """
        End finch and its tmux server whatever state the test left them in.
        """
        if await self.running():
            # A finch stuck in some dialog ignores Alt+q: killed below.
            with contextlib.suppress(asyncio.TimeoutError):
                await self.quit()
        await self.kill()


def _first_line(screen):
    return screen.partition("\n")[0]
