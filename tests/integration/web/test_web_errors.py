"""Error answers and cheap dashboards (issue 23 item 4; R14, R22, ASVS 5.0 V16).

Every query parameter is bounded (a 4xx, never a 500: an unbounded page made SQLite's
offset overflow); a 500 carries the same security headers as every other answer and no
stack trace (the header middleware wraps Starlette's error handler); an open dashboard
writes its heartbeat at most once a minute, so dashboards do not contend with cycles.
"""

from __future__ import annotations

import httpx
import pytest

from support.web_pages import BOB, check_headers
from support.web_world import BASE, WebWorld


@pytest.mark.parametrize("page", ["999999999999999999999", "10001", "0", "-1", "two", ""])
async def test_an_out_of_range_page_is_a_4xx_not_a_500_R22(people: WebWorld, page: str) -> None:
    answer = await people.people[BOB].browser.get("/dashboard", params={"page": page})
    assert 400 <= answer.status_code < 500, (page, answer.status_code, answer.text[:200])
    assert check_headers(answer) == []


async def test_the_last_allowed_page_is_an_empty_page_not_an_error_R18(people: WebWorld) -> None:
    answer = await people.people[BOB].browser.get("/dashboard", params={"page": "10000"})
    assert answer.status_code == 200


async def test_a_500_carries_the_security_headers_and_no_stack_trace_R22(
    people: WebWorld,
) -> None:
    @people.app.get("/boom-for-the-test")
    async def boom() -> None:
        raise RuntimeError("secret detail /work/src/s5sync/entrypoints/web/app.py line 42")

    people.app.middleware_stack = None  # rebuilt with the new route on the next request
    transport = httpx.ASGITransport(app=people.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as browser:
        answer = await browser.get("/boom-for-the-test")
        missing = await browser.get("/no-such-page")
    assert answer.status_code == 500
    assert check_headers(answer) == []
    assert "Traceback" not in answer.text
    assert "secret detail" not in answer.text
    assert missing.status_code == 404
    assert check_headers(missing) == []


async def test_an_open_dashboard_writes_its_heartbeat_at_most_once_a_minute_R14(
    people: WebWorld,
) -> None:
    bob = people.people[BOB].browser
    assert (await bob.get("/dashboard")).status_code == 200
    first = (await people.user(BOB)).last_heartbeat_at
    assert first is not None
    for _ in range(3):
        assert (await bob.get("/dashboard")).status_code == 200
        assert (
            await bob.post(
                "/dashboard/heartbeat", headers={"X-CSRF-Token": await people.people[BOB].csrf()}
            )
        ).status_code == 204
    assert (await people.user(BOB)).last_heartbeat_at == first
