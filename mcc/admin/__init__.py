"""
The admin site, where administrators configure mcc: accounts and queues.
"""

from mcc.admin.site import AdminSite

__all__ = ["AdminSite"]
