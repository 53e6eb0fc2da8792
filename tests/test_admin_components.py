"""
The Gateways tab's XMPP page: components with a secret shown once,
disabled and deleted; queue addresses set and refused.
"""

from mcc.admin.gateways import gateways_tab
from mcc.routing.chats import ChatService, Timeouts
from mcc.routing.components import RemoteVisitors, handshake
from tests.test_admin import World


def make_world():
    secrets = iter(["first-secret", "second-secret"])
    holder = {}

    def tab(*args):
        return gateways_tab(None, lambda: "", holder["visitors"])(*args)

    world = World(sections={"gateways": tab})
    chats = ChatService(
        world.store, world.availability, lambda queue: [], world.clock, lambda: "token",
        Timeouts(120, 90, 25, 30),
    )
    holder["visitors"] = world.visitors = RemoteVisitors(
        world.store, chats, world.clock, "example.org", new_secret=lambda: next(secrets)
    )
    return world


def test_a_component_is_added_with_its_secret_shown_once():
    world = make_world()
    admin = world.admin()
    admin.get("/admin/gateways/xmpp")
    page = admin.post("/admin/gateways/xmpp/components", {"domain": "Telegram.Example.org", "protocol": "telegram"})
    assert page.code == 200
    assert "first-secret" in page.text and "telegram.example.org" in page.text
    again = admin.get("/admin/gateways/xmpp")
    assert "first-secret" not in again.text and "telegram.example.org" in again.text
    (component,) = world.visitors.components()
    assert (component.domain, component.protocol) == ("telegram.example.org", "telegram")
    assert world.visitors.authenticate(component.domain, "id", handshake("id", "first-secret"))


def test_bad_and_duplicate_domains_are_refused():
    world = make_world()
    admin = world.admin()
    admin.get("/admin/gateways/xmpp")
    assert admin.post("/admin/gateways/xmpp/components", {"domain": "not a domain"}).code == 400
    admin.post("/admin/gateways/xmpp/components", {"domain": "bridge.example.org"})
    assert admin.post("/admin/gateways/xmpp/components", {"domain": "bridge.example.org"}).code == 400
    assert admin.post("/admin/gateways/xmpp/components", {"domain": "example.org"}).code == 400
    assert len(world.visitors.components()) == 1


def test_disable_and_delete_a_component():
    world = make_world()
    admin = world.admin()
    admin.get("/admin/gateways/xmpp")
    admin.post("/admin/gateways/xmpp/components", {"domain": "bridge.example.org"})
    (component,) = world.visitors.components()
    admin.post(f"/admin/gateways/xmpp/components/{component.id}/disable", {"enable": "0"})
    assert world.visitors.component(component.id).disabled
    assert not world.visitors.authenticate("bridge.example.org", "id", handshake("id", "first-secret"))
    admin.get("/admin/gateways/xmpp")
    admin.post(f"/admin/gateways/xmpp/components/{component.id}/delete")
    assert world.visitors.components() == []


def test_queue_address_is_set_and_an_account_name_refused():
    world = make_world()
    world.queues.create("reference", "")
    admin = world.admin()
    admin.get("/admin/gateways/xmpp")
    taken = {"queue": "reference", "address": "olive@example.org"}
    assert admin.post("/admin/gateways/xmpp/identities", taken).code == 400
    admin.get("/admin/gateways/xmpp")
    admin.post("/admin/gateways/xmpp/identities", {"queue": "reference", "address": "reference@example.org"})
    assert world.visitors.identity_of("reference").address == "reference@example.org"
    assert "reference@example.org" in admin.get("/admin/gateways/xmpp").text
