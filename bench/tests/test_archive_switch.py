"""
The switch the benchmark prices the message archive with: an mcc started
with --no-message-archive has no archiving among its message taps.
"""

import pytest

from mcc.xmpp.archive import MessageArchiving
from tests.conftest import test_config as mcc_test_config


@pytest.fixture(params=[False, True], ids=["archive", "no-archive"])
def server_config(request, tmp_path):
    return mcc_test_config(tmp_path / "data", no_message_archive=request.param)


def test_the_archive_is_there_unless_switched_off(server):
    archiving = [o for o in server.xmpp.taps.observers if isinstance(o, MessageArchiving)]
    assert len(archiving) == (0 if server.config.no_message_archive else 1)
