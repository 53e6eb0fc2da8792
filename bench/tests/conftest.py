"""
The project's fixtures (an in-process mcc on loopback), for the tests of
the benchmark's own XMPP client.
"""

from tests.conftest import server, server_config  # noqa: F401
