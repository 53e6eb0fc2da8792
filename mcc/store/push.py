# -*- test-case-name: tests.test_push -*-
"""
The push services (XEP-0357) each account enabled: an app server's JID
and the node naming the device there.
"""


class PushRegistrations:
    def __init__(self, db):
        self._conn = db.conn

    def enable(self, owner, app_server, node, now):
        self._conn.execute(
            "INSERT INTO push_registrations (owner, app_server, node, enabled_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET enabled_at = excluded.enabled_at",
            (owner, app_server, node, now),
        )

    def disable(self, owner, app_server, node=None):
        """
        Forget C{owner}'s node C{node} at C{app_server}, or all its nodes
        there when C{node} is C{None}; how many went.
        """
        if node is None:
            cursor = self._conn.execute(
                "DELETE FROM push_registrations WHERE owner = ? AND app_server = ?",
                (owner, app_server),
            )
        else:
            cursor = self._conn.execute(
                "DELETE FROM push_registrations WHERE owner = ? AND app_server = ? AND node = ?",
                (owner, app_server, node),
            )
        return cursor.rowcount

    def of(self, owner):
        """
        C{(app_server, node)} for each of C{owner}'s registrations.
        """
        return self._conn.execute(
            "SELECT app_server, node FROM push_registrations WHERE owner = ? "
            "ORDER BY app_server, node",
            (owner,),
        ).fetchall()
