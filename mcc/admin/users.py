# -*- test-case-name: tests.test_admin -*-
"""
The admin site's Users tab: accounts of operators and administrators, who
log in over XMPP with the password set here.
"""

from klein import Klein
from werkzeug.exceptions import NotFound

from mcc.admin.shell import form_flag, form_text, user_path
from mcc.routing.accounts import AccountError
from mcc.routing.errors import DuplicateUser, PasswordError, UnknownUser, UsernameError

REFUSED = (UsernameError, DuplicateUser, PasswordError, AccountError)
"""
What the rules raise for a change they refuse: shown to the admin, nothing
changed.
"""

USERNAME_REFUSED = (UsernameError, DuplicateUser)
"""
What the rules raise when a new user's username is the problem, so that the
form marks that field.
"""


class UsersTab:
    """
    The tab for one request of a signed-in administrator (the L{Visit}),
    served by the admin site C{site} under C{/admin/users}.
    """

    app = Klein()

    def __init__(self, site, visit):
        self.site = site
        self.visit = visit
        self.accounts = site.accounts

    def resource(self):
        return self.app.resource()

    @app.handle_errors(UnknownUser, NotFound)
    def not_found(self, request, failure):
        if failure.check(NotFound):
            return self.site.not_found(request)
        return self.site.not_found(request, failure.value)

    def _page(self, request, template, status=200, selected=None, **context):
        users = [
            (user, self.site.availability.status(user.username)) for user in self.accounts.all()
        ]
        return self.site.page(
            request, self.visit, template, status=status, users=users, selected=selected, **context
        )

    def _edit_page(self, request, user, status=200, values=None, errors=None):
        if values is None:
            values = {
                "display_name": user.display_name,
                "email": user.email,
                "is_admin": user.is_admin,
            }
        return self._page(
            request,
            "users/edit.html",
            status=status,
            selected=user,
            values=values,
            errors=errors or {},
        )

    def _done(self, request, message, username=None):
        path = user_path(username) if username else "/admin/users"
        return self.site.done(request, self.visit, message, path)

    # The tab's own address, /admin/users, reaches this app as an empty
    # path: no slash to insist on.
    @app.route("/", methods=["GET"], strict_slashes=False)
    def users(self, request):
        return self._page(request, "users/index.html")

    @app.route("/new", methods=["GET"])
    def new_user_form(self, request):
        values = {"username": "", "display_name": "", "email": "", "is_admin": False}
        return self._page(
            request, "users/new.html", values=values, error=None, username_invalid=False
        )

    @app.route("/", methods=["POST"], strict_slashes=False)
    def add_user(self, request):
        values = {name: form_text(request, name) for name in ("username", "display_name", "email")}
        values["is_admin"] = form_flag(request, "is_admin")
        try:
            user = self.accounts.add(password=form_text(request, "password", strip=False), **values)
        except REFUSED as problem:
            return self._page(
                request,
                "users/new.html",
                status=400,
                values=values,
                error=str(problem),
                username_invalid=isinstance(problem, USERNAME_REFUSED),
            )
        return self._done(request, f"Added {user.username}@{self.site.domain}.", user.username)

    @app.route("/<username>", methods=["GET"])
    def user(self, request, username):
        return self._edit_page(request, self.accounts.get(username))

    @app.route("/<username>", methods=["POST"])
    def update_user(self, request, username):
        user = self.accounts.get(username)
        values = {name: form_text(request, name) for name in ("display_name", "email")}
        values["is_admin"] = form_flag(request, "is_admin")
        try:
            if not values["is_admin"]:
                self._not_yourself(user, "take away your own admin flag")
            self.accounts.update_profile(user.username, **values)
        except REFUSED as problem:
            return self._edit_page(
                request, user, status=400, values=values, errors={"profile": str(problem)}
            )
        return self._done(request, f"Saved the profile of {user.username}.", user.username)

    @app.route("/<username>/password", methods=["POST"])
    def reset_password(self, request, username):
        user = self.accounts.get(username)
        try:
            self.accounts.reset_password(user.username, form_text(request, "password", strip=False))
        except REFUSED as problem:
            return self._edit_page(request, user, status=400, errors={"password": str(problem)})
        self.site.sessions.discard_user(user.username, keep=self.visit.session)
        return self._done(request, f"Set a new password for {user.username}.", user.username)

    @app.route("/<username>/disabled", methods=["POST"])
    def set_disabled(self, request, username):
        user = self.accounts.get(username)
        disabled = form_flag(request, "disabled")
        try:
            if disabled:
                self._not_yourself(user, "disable the account you are signed in with")
            self.accounts.set_disabled(user.username, disabled)
        except REFUSED as problem:
            return self._edit_page(request, user, status=400, errors={"status": str(problem)})
        message = (
            f"Disabled {user.username}: their XMPP sessions are closed and new logins refused."
            if disabled
            else f"Enabled {user.username}: they can log in again."
        )
        return self._done(request, message, user.username)

    def _delete_page(self, request, user, status=200, error=None):
        return self._page(
            request,
            "users/delete.html",
            status=status,
            selected=user,
            error=error,
            serving=self.site.snippets_serving(username=user.username),
        )

    @app.route("/<username>/delete", methods=["GET"])
    def confirm_delete_user(self, request, username):
        return self._delete_page(request, self.accounts.get(username))

    @app.route("/<username>/delete", methods=["POST"])
    def delete_user(self, request, username):
        user = self.accounts.get(username)
        try:
            self._not_yourself(user, "delete the account you are signed in with")
            self.accounts.remove(user.username)
        except REFUSED as problem:
            return self._delete_page(request, user, status=400, error=str(problem))
        return self._done(request, f"Deleted {user.username}.")

    def _not_yourself(self, user, change):
        """
        Refuse a change that would lock the signed-in admin out of the site.
        """
        if user.username == self.visit.user.username:
            raise AccountError(f"you cannot {change}")
