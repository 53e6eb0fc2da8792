# -*- test-case-name: tests.test_admin -*-
"""
The admin site's Queues tab: queues group operators, so that chats reach
the right people.  A queue's page also keeps the canned messages its
operators share, and the Tags sub-page curates the tags operators put on
chats (shared by every queue, so they live beside the queues, not in one).
"""

import functools
from urllib.parse import urlencode

from klein import Klein
from werkzeug.exceptions import NotFound

from mcc.admin.shell import form_list, form_text
from mcc.routing.errors import (
    DuplicateCanned,
    DuplicateQueue,
    DuplicateTag,
    InvalidCanned,
    InvalidTag,
    UnknownCanned,
    UnknownQueue,
    UnknownTag,
    UnknownUser,
)
from mcc.routing.queues import QueueError

REFUSED = (QueueError, DuplicateQueue)
CANNED_REFUSED = (InvalidCanned, DuplicateCanned)
TAG_REFUSED = (InvalidTag, DuplicateTag, UnknownTag)
TAGS = "/admin/queues/tags"


def queues_tab(operations=None):
    """
    The server of the Queues tab for L{Tab}, with C{operations} (the
    L{mcc.routing.operations.ChatOperations}) for canned messages and tags.
    """
    return functools.partial(QueuesTab, operations=operations)


class QueuesTab:
    """
    The tab for one request of a signed-in administrator (the L{Visit}),
    served by the admin site C{site} under C{/admin/queues}.
    """

    app = Klein()

    def __init__(self, site, visit, operations=None):
        """
        @param operations: the L{mcc.routing.operations.ChatOperations};
            without it the tab has no canned messages or tags.
        """
        self.site = site
        self.visit = visit
        self.queues = site.queues
        self.operations = operations

    def resource(self):
        return self.app.resource()

    @app.handle_errors(UnknownQueue, UnknownCanned, UnknownTag, NotFound)
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
            subtab=context.pop("subtab", "queues"),
            has_tags=self.operations is not None,
            **context,
        )

    def _show_page(
        self, request, queue, status=200, values=None, error=None, canned_values=None,
        canned_error=None,
    ):
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
            canned=None if self.operations is None else self.operations.queue_canned(queue.name),
            canned_values=canned_values or {"name": "", "text": ""},
            canned_error=canned_error,
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

    # Canned messages, shared by the queue's operators

    def _operations(self):
        if self.operations is None:
            raise NotFound()
        return self.operations

    def _canned(self, queue, canned_id):
        """
        The canned message C{canned_id} of C{queue}: one of another queue,
        or an operator's own, is not found here.
        """
        for canned in self._operations().queue_canned(queue.name):
            if canned.id == canned_id:
                return canned
        raise UnknownCanned(canned_id)

    @app.route("/<int:queue_id>/canned", methods=["POST"])
    def add_canned(self, request, queue_id):
        queue = self.queues.get(queue_id)
        values = {"name": form_text(request, "name"), "text": form_text(request, "text")}
        try:
            canned = self._operations().add_canned(values["name"], values["text"], queue=queue.name)
        except CANNED_REFUSED as problem:
            return self._show_page(
                request, queue, status=400, canned_values=values, canned_error=str(problem)
            )
        return self._done(
            request,
            f"Added the canned message {canned.name} to {queue.name}.",
            f"/admin/queues/{queue_id}#canned-heading",
        )

    def _canned_page(self, request, queue, canned, status=200, values=None, error=None):
        return self._page(
            request,
            "queues/canned.html",
            status=status,
            selected=queue,
            canned=canned,
            values=values or {"name": canned.name, "text": canned.text},
            error=error,
        )

    @app.route("/<int:queue_id>/canned/<int:canned_id>", methods=["GET"])
    def canned_form(self, request, queue_id, canned_id):
        queue = self.queues.get(queue_id)
        return self._canned_page(request, queue, self._canned(queue, canned_id))

    @app.route("/<int:queue_id>/canned/<int:canned_id>", methods=["POST"])
    def update_canned(self, request, queue_id, canned_id):
        queue = self.queues.get(queue_id)
        canned = self._canned(queue, canned_id)
        values = {"name": form_text(request, "name"), "text": form_text(request, "text")}
        try:
            canned = self.operations.update_canned(canned.id, values["name"], values["text"])
        except CANNED_REFUSED as problem:
            return self._canned_page(
                request, queue, canned, status=400, values=values, error=str(problem)
            )
        return self._done(
            request,
            f"Saved the canned message {canned.name}.",
            f"/admin/queues/{queue_id}#canned-heading",
        )

    @app.route("/<int:queue_id>/canned/<int:canned_id>/delete", methods=["GET"])
    def confirm_delete_canned(self, request, queue_id, canned_id):
        queue = self.queues.get(queue_id)
        return self._page(
            request, "queues/canned-delete.html", selected=queue,
            canned=self._canned(queue, canned_id),
        )

    @app.route("/<int:queue_id>/canned/<int:canned_id>/delete", methods=["POST"])
    def delete_canned(self, request, queue_id, canned_id):
        queue = self.queues.get(queue_id)
        canned = self._canned(queue, canned_id)
        self.operations.remove_canned(canned.id)
        return self._done(
            request,
            f"Deleted the canned message {canned.name}.",
            f"/admin/queues/{queue_id}#canned-heading",
        )

    # Tags in use, shared by every queue

    def _tags_page(self, request, status=200, error=None, values=None):
        return self._page(
            request,
            "queues/tags.html",
            status=status,
            subtab="tags",
            tags=self._operations().all_tags(),
            error=error,
            values=values or {},
            delete_path=tag_delete_path,
            chats=_chats,
        )

    @app.route("/tags", methods=["GET"])
    def tag_list(self, request):
        return self._tags_page(request)

    def _tag_change(self, request, change, message):
        values = {name: form_text(request, name) for name in ("name", "new_name", "into")}
        try:
            tag = change(values)
        except TAG_REFUSED as problem:
            return self._tags_page(request, status=400, error=str(problem), values=values)
        return self._done(request, message(values, tag), TAGS)

    @app.route("/tags/rename", methods=["POST"])
    def rename_tag(self, request):
        operations = self._operations()
        return self._tag_change(
            request,
            lambda values: operations.rename_tag(values["name"], values["new_name"]),
            lambda values, tag: f"Renamed the tag {values['name']} to {tag.name}.",
        )

    @app.route("/tags/merge", methods=["POST"])
    def merge_tags(self, request):
        operations = self._operations()
        return self._tag_change(
            request,
            lambda values: operations.merge_tags(values["name"], values["into"]),
            lambda values, tag: (
                f"Merged the tag {values['name']} into {tag.name}, "
                f"now on {_chats(tag.chats)}."
            ),
        )

    def _tag(self, request):
        """
        The tag named by the form or query field C{name}.
        """
        name = form_text(request, "name")
        for tag in self._operations().all_tags():
            if tag.name.casefold() == " ".join(name.split()).casefold():
                return tag
        raise UnknownTag(name)

    @app.route("/tags/delete", methods=["GET"])
    def confirm_delete_tag(self, request):
        return self._page(
            request, "queues/tag-delete.html", subtab="tags", tag=self._tag(request), chats=_chats,
        )

    @app.route("/tags/delete", methods=["POST"])
    def delete_tag(self, request):
        tag = self._tag(request)
        self.operations.delete_tag(tag.name)
        return self._done(
            request, f"Deleted the tag {tag.name}; {_chats(tag.chats)} lost it.", TAGS
        )


def _chats(number):
    return "1 chat" if number == 1 else f"{number} chats"


def tag_delete_path(name):
    return f"{TAGS}/delete?" + urlencode({"name": name})
