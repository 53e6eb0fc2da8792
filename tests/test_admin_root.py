"""
Tests for L{mcc.admin.root} and the admin site's answers through a running
mcc's real HTTP socket: what a new user meets first.
"""

import treq

from tests.conftest import asyncio_test
from tests.visitor_client import wait


async def fetch(url, **kwargs):
    response = await wait(treq.get(url, allow_redirects=False, **kwargs))
    return response, await wait(treq.text_content(response))


def header(response, name):
    values = response.headers.getRawHeaders(name)
    return None if values is None else values[0]


@asyncio_test
async def test_the_root_url_leads_to_the_admin_site_and_the_chat_test_page(server):
    response, page = await fetch(f"{server.http_url}/")
    assert response.code == 200
    assert header(response, "content-type") == "text/html; charset=utf-8"
    assert 'href="/admin/"' in page
    assert 'href="/chat-test"' in page
    assert 'href="/admin/admin.css"' in page


@asyncio_test
async def test_unknown_urls_get_a_not_found_page_in_the_sites_layout(server):
    for path in ("/nonesuch", "/nonesuch/deeper", "/admin/nonesuch", "/admin/sign-in/x"):
        response, page = await fetch(server.http_url + path)
        assert response.code == 404, path
        assert "<h1>Not found</h1>" in page, path
        assert 'href="/admin/admin.css"' in page, path
        assert "No such page." in page, path


@asyncio_test
async def test_the_site_has_a_favicon(server):
    response, page = await fetch(f"{server.http_url}/admin/sign-in")
    assert '<link rel="icon" href="/admin/favicon.svg" type="image/svg+xml">' in page
    for path in ("/admin/favicon.svg", "/favicon.ico"):
        response, icon = await fetch(server.http_url + path)
        assert response.code == 200, path
        assert header(response, "content-type") == "image/svg+xml", path
        assert icon.startswith("<svg "), path


@asyncio_test
async def test_a_forged_host_is_never_where_a_redirect_leads(server):
    for path in ("/admin", "/admin/", "/admin/users"):
        response, _ = await fetch(server.http_url + path, headers={"Host": "evil.example"})
        assert response.code == 303, path
        location = header(response, "location")
        assert "evil.example" not in location, path
        assert location.startswith("/admin/"), path
