"""A problem's `type` is a page this app serves, explaining its code in both languages; its
`title` is the catalogue's; `Accept-Language: id` answers in Indonesian (issue #18 item 6)."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from marketplace.problem_catalogue import catalogue
from tests.support import Actors, assert_problem


async def test_a_problem_names_its_page_and_the_page_explains_it(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get("/v1/no-such-thing")
    body = assert_problem(response, 404, "not_found")
    assert body["type"] == str(client.base_url).rstrip("/") + "/problems/not_found"
    assert body["title"] == "Not found"
    assert body["detail"] == "No such resource."
    assert response.headers["content-language"] == "en"

    page = await client.get(body["type"].removeprefix(str(client.base_url).rstrip("/")))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Sumber daya itu tidak ada" in page.text or "Tidak ditemukan" in page.text
    assert "Not found" in page.text


async def test_accept_language_id_gives_indonesian_titles_and_generic_details(
    client: AsyncTestClient[Litestar],
) -> None:
    headers = {"Accept-Language": "en;q=0.4, id-ID;q=0.9"}
    body = assert_problem(await client.get("/v1/no-such-thing", headers=headers), 404)
    assert (body["title"], body["detail"]) == ("Tidak ditemukan", "Sumber daya itu tidak ada.")

    response = await client.get("/v1/orders", headers=headers)
    body = assert_problem(response, 401, "auth.unauthenticated")
    assert body["title"] == "Perlu autentikasi"
    assert body["detail"] == "Kirim kunci API Anda sebagai `Authorization: Bearer <kunci>`."
    assert body["type"].endswith("/problems/auth.unauthenticated")
    assert response.headers["content-language"] == "id"
    assert "accept-language" in response.headers["vary"].lower()

    refused = await client.get("/v1/orders", headers={"Accept-Language": "id;q=0"})
    english = assert_problem(refused, 401)
    assert english["title"] == "Authentication required"


async def test_a_domain_error_takes_the_catalogue_title_not_its_class_default(
    client: AsyncTestClient[Litestar], actors: Actors
) -> None:
    # `pagination.invalid_cursor` inherits BadRequest's generic title; the catalogue's is its own.
    admin = await actors.platform_admin()
    response = await client.get(
        "/v1/organizations", params={"cursor": "not!a!cursor"}, headers=admin.headers
    )
    body = assert_problem(response, 400, "pagination.invalid_cursor")
    assert body["title"] == catalogue()["pagination.invalid_cursor"].title
    assert body["title"] != "The request could not be read"


async def test_the_listing_names_every_code_and_an_unknown_code_is_not_found(
    client: AsyncTestClient[Litestar],
) -> None:
    listing = await client.get("/problems", headers={"Accept-Language": "en"})
    assert listing.status_code == 200
    for code in catalogue():
        assert f'href="/problems/{code}"' in listing.text, code
    assert "Problem codes" in listing.text

    indonesian = await client.get("/problems", headers={"Accept-Language": "id"})
    assert "Kode masalah" in indonesian.text

    page = await client.get("/problems/orders.budget_exceeded", headers={"Accept-Language": "id"})
    assert page.status_code == 200
    assert page.headers["content-language"] == "id"
    assert page.text.index("Pesanan akan melebihi pagu anggaran dapur") < page.text.index(
        "The order would exceed the kitchen&#39;s budget envelope"
    )

    unknown = await client.get("/problems/orders.no_such_code")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("text/html")
