# -*- test-case-name: tests.test_admin -*-
"""
The admin site's Queues tab: queues group operators, so that chats reach
the right people.
"""

from klein import Klein
from werkzeug.exceptions import NotFound

from mcc.admin.shell import form_list, form_text
from mcc.routing.errors import DuplicateQueue, UnknownQueue, UnknownUser
from mcc.routing.queues import QueueError

REFUSED = (QueueError, DuplicateQueue)


class QueuesTab:
    """
    The tab for one request of a signed-in administrator (the L{Visit}),
    served by the admin site C{site} under C{/admin/queues}.
    """

    app = Klein()

    def __init__(self, site, visit):
        self.site = site
        self.visit = visit
        self.queues = site.queues

    def resource(self):
        return self.app.resource()

    @app.handle_errors(UnknownQueue, NotFound)
    def not_found(self, request, failure):
        if failure.check(NotFound):
            return self.site.not_found(request)
        return self.site.not_found(request, failure.value)

    def _page(self, request, template, status=200, selected=None, **context):
        return self.site.page(
            request,
            self.visit,
            template,
            status=status,
            queues=self.queues.all(),
            selected=selected,
            **context,
        )

    def _show_page(self, request, queue, status=200, values=None, error=None):
        if values is None:
            values = {"name": queue.name, "description": queue.description}
        users = {user.username: user for user in self.site.accounts.all()}
        status_of = self.site.availability.status
        return self._page(
            request,
            "queues/show.html",
            status=status,
            selected=queue,
            operators=[(users[name], status_of(name)) for name in queue.operators],
            values=values,
            error=error,
        )

    def _done(self, request, message, path):
        return self.site.done(request, self.visit, message, path)

    @app.route("/", methods=["GET"], strict_slashes=False)
    def queue_list(self, request):
        return self._page(request, "queues/index.html")

    @app.route("/new", methods=["GET"])
    def new_queue_form(self, request):
        return self._page(request, "queues/new.html", values={"name": "", "description": ""}, error=None)

    @app.route("/", methods=["POST"], strict_slashes=False)
    def create_queue(self, request):
        values = {name: form_text(request, name) for name in ("name", "description")}
        try:
            queue = self.queues.create(**values)
        except REFUSED as problem:
            return self._page(request, "queues/new.html", status=400, values=values, error=str(problem))
        return self._done(
            request,
            f"Created the queue {queue.name}. Now add operators to it.",
            f"/admin/queues/{queue.id}",
        )

    @app.route("/<int:queue_id>", methods=["GET"])
    def queue(self, request, queue_id):
        return self._show_page(request, self.queues.get(queue_id))

    @app.route("/<int:queue_id>", methods=["POST"])
    def update_queue(self, request, queue_id):
        queue = self.queues.get(queue_id)
        values = {name: form_text(request, name) for name in ("name", "description")}
        try:
            queue = self.queues.update(queue_id, **values)
        except REFUSED as problem:
            return self._show_page(request, queue, status=400, values=values, error=str(problem))
        return self._done(request, f"Saved the queue {queue.name}.", f"/admin/queues/{queue_id}")

    def _operators_page(self, request, queue, assigned, status=200, moved=False, error=None):
        users = self.site.accounts.all()
        return self._page(
            request,
            "queues/operators.html",
            status=status,
            selected=queue,
            unassigned=[user for user in users if user.username not in assigned],
            assigned=[user for user in users if user.username in assigned],
            moved=moved,
            error=error,
        )

    @app.route("/<int:queue_id>/operators", methods=["GET"])
    def operators_form(self, request, queue_id):
        queue = self.queues.get(queue_id)
        return self._operators_page(request, queue, set(queue.operators))

    @app.route("/<int:queue_id>/operators", methods=["POST"])
    def assign_operators(self, request, queue_id):
        """
        Without JavaScript, the move buttons post the columns as they are
        and get them back rearranged, unsaved; Save stores the assignment.
        """
        queue = self.queues.get(queue_id)
        assigned = set(form_list(request, "assigned"))
        move = form_text(request, "move")
        if move == "add":
            assigned |= set(form_list(request, "add"))
        elif move == "remove":
            assigned -= set(form_list(request, "remove"))
        else:
            try:
                queue = self.queues.assign(queue_id, sorted(assigned))
            except UnknownUser as problem:
                return self._operators_page(
                    request, queue, assigned, status=400, error=f"Not saved: {problem}."
                )
            return self._done(
                request, f"Saved the operators of {queue.name}.", f"/admin/queues/{queue_id}"
            )
        return self._operators_page(request, queue, assigned, moved=True)

    @app.route("/<int:queue_id>/delete", methods=["GET"])
    def confirm_delete_queue(self, request, queue_id):
        queue = self.queues.get(queue_id)
        return self._page(
            request,
            "queues/delete.html",
            selected=queue,
            serving=self.site.snippets_serving(queue_id=queue.id),
        )

    @app.route("/<int:queue_id>/delete", methods=["POST"])
    def delete_queue(self, request, queue_id):
        queue = self.queues.get(queue_id)
        self.queues.remove(queue_id)
        return self._done(request, f"Deleted the queue {queue.name}.", "/admin/queues")
