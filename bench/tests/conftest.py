"""
The project's fixtures (an in-process mcc on loopback), for the tests of
the benchmark's own clients: XMPP operators and HTTP visitors.
"""

from tests.conftest import server, server_config  # noqa: F401
