"""
My Customer Cloud: live chat for websites, answered from XMPP clients.
"""

__version__ = "0.1.0"

from mcc import wokkel_compat

wokkel_compat.install()
