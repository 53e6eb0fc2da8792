"""
The admin site, where administrators configure mcc: accounts and queues.
"""

from mcc.admin.root import Root
from mcc.admin.site import AdminSite

__all__ = ["AdminSite", "Root"]
