"""
Drive Debian's C{profanity} (libstrophe) headless: an account file in a
temporary home, started with C{-a} so it logs in at once, in a private tmux
server whose screen the test reads and types into.
"""

import asyncio
import contextlib
import re

from tests.tmux import SCREEN_TIMEOUT, TmuxProgram

# tls.policy "trust" is "/account set NAME tls trust": STARTTLS, with the
# server's certificate trusted whatever it is, as a self-signed one must be.
ACCOUNT = """[{name}]
enabled=true
jid={jid}
server={host}
port={port}
resource={resource}
password={password}
tls.policy=trust
"""


def prepare_home(home, name, jid, password, host, port, resource="profanity"):
    """
    Write the account C{name} for C{jid}; profanity keeps it (and its logs)
    under C{~/.local/share/profanity}.
    """
    for line in (name, jid, password, host, resource):
        # A key file holds one value a line.
        assert "\n" not in line and "[" not in name
    data = home / ".local" / "share" / "profanity"
    data.mkdir(parents=True)
    (home / ".config" / "profanity").mkdir(parents=True)
    (data / "accounts").write_text(
        ACCOUNT.format(
            name=name, jid=jid, password=password, host=host, port=port, resource=resource
        )
    )


class Profanity(TmuxProgram):
    """
    One profanity process in its own tmux server, logging at DEBUG level to
    C{~/.local/share/profanity/logs/profanity.log} (the stanzas included).
    """

    name = "profanity"

    def __init__(self, home):
        # Set explicitly: a caller's XDG directories would leak otherwise.
        super().__init__(
            home,
            {
                "XDG_CONFIG_HOME": str(home / ".config"),
                "XDG_DATA_HOME": str(home / ".local" / "share"),
            },
        )

    @property
    def log(self):
        return self.home / ".local" / "share" / "profanity" / "logs" / "profanity.log"

    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def start(self, account):
        await self.start_command(f"profanity -l DEBUG -a {account}")

    async def wait_for_log(self, text, timeout=SCREEN_TIMEOUT):
        async def poll():
            while text not in self.log_text():
                await asyncio.sleep(0.2)

        try:
            await asyncio.wait_for(poll(), timeout)
        except TimeoutError:
            raise AssertionError(f"{text!r} not in profanity's log") from None

    async def window_of(self, contact, timeout=SCREEN_TIMEOUT):
        """
        The number of the window a message from C{contact} opened, as the
        console announces it ("<< chat message: NAME/RESOURCE (win 2)").
        """
        pattern = re.compile(r"<< chat message: " + re.escape(contact) + r"\S* \(win (\d+)\)")
        await self._wait(
            lambda screen: pattern.search(screen), f"no window for {contact!r}", timeout
        )
        return int(pattern.search(await self.screen()).group(1))

    async def quit(self, timeout=5):
        await self.type_line("/quit")
        await self.wait_ended(timeout)

    async def close(self):
        """
        End profanity and its tmux server whatever state the test left them in.
        """
        if await self.running():
            with contextlib.suppress(asyncio.TimeoutError):
                await self.quit()
        await self.kill()
