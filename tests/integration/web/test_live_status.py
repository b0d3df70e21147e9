"""The dashboard's live status (issue 20 items 1–3): the pill's colour follows one rule —
green syncing, grey paused on purpose, amber "will retry" with one plain sentence of what
failed and when s5sync tries again (store time, 429 and 503 named), red "needs you";
Sync now answers "Syncing…" polled every second until that sync finished, then the new
activity lines come in place; the page says when and why sync runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bs4 import BeautifulSoup, Tag

from s5sync.core.records import RunRecord
from s5sync.core.status import what_failed
from s5sync.staff.livestatus import pill
from support.web_world import WebWorld

ALICE = "alice@contoso.example"
NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)


def run(outcome: str, error: str | None = None) -> RunRecord:
    return RunRecord(1, 1, NOW, NOW, NOW, outcome, {}, {}, error)


def test_pill_colours_follow_one_rule_per_state_issue20() -> None:
    zone = "America/New_York"
    later = NOW + timedelta(minutes=10)
    assert pill("active", run("ok"), later, zone).colour == "green"
    assert pill("paused", None, later, zone).colour == "grey"
    assert pill("held", None, later, zone).colour == "grey"
    assert pill("needs_sign_in", None, None, zone).colour == "red"
    assert pill("not_onboarded", None, None, zone).colour == "red"
    throttled = pill(
        "active",
        run("throttled", "Microsoft Graph answered 503 Service Unavailable until …"),
        later,
        zone,
    )
    assert throttled.colour == "amber"
    assert throttled.words == "Will retry"
    # One plain sentence: what, when (store time, 21:10 in New York), nothing in UTC.
    assert throttled.problem == (
        "Outlook was not available (503 Service Unavailable); s5sync tries again at 21:10. "
        "Nothing is lost."
    )
    assert "429 Too Many Requests" in what_failed("throttled (429)")
    assert what_failed("System Five could not be read (OperationalError)") == (
        "System Five did not answer"
    )


def tag(soup: BeautifulSoup, element_id: str) -> Tag:
    found = soup.find(id=element_id)
    assert isinstance(found, Tag), element_id
    return found


def attr(element: Tag, name: str) -> str:
    value = element.get(name)
    return " ".join(value) if isinstance(value, list) else str(value)


async def test_sync_now_shows_syncing_until_done_then_the_new_lines_issue20(
    world: WebWorld,
) -> None:
    alice = await world.sign_in(ALICE)
    await world.onboard(ALICE)
    page = BeautifulSoup((await alice.browser.get("/dashboard")).text, "html.parser")
    status = tag(page, "status")
    assert "pill-green" in attr(status, "class") or "pill-grey" in attr(status, "class")
    assert "closing it stops the sync" in status.get_text(" ")
    assert tag(page, "sync-cadence").get_text(strip=True) == "Every 10 minutes"

    token = await alice.csrf()
    pressed = await alice.browser.post("/dashboard/sync-now", headers={"X-CSRF-Token": token})
    answer = BeautifulSoup(pressed.text, "html.parser")
    button = tag(answer, "sync-now")
    assert button.get_text(strip=True) == "Syncing…"
    assert attr(button, "aria-disabled") == "true"
    section = tag(answer, "status")
    assert attr(section, "hx-trigger") == "every 1s"
    poll = attr(section, "hx-get")
    assert "since=" in poll

    still = BeautifulSoup((await alice.browser.get(poll)).text, "html.parser")
    assert tag(still, "sync-now").get_text(strip=True) == "Syncing…"  # no cycle yet
    await world.cycle(ALICE)
    done = BeautifulSoup((await alice.browser.get(poll)).text, "html.parser")
    assert tag(done, "sync-now").get_text(strip=True) == "Sync now"
    assert attr(tag(done, "status"), "hx-trigger") == "every 15s"
    # The new activity lines come in place, out of band, once.
    assert attr(tag(done, "activity"), "hx-swap-oob") == "innerHTML"
    again_url = attr(tag(done, "status"), "hx-get")
    again = BeautifulSoup((await alice.browser.get(again_url)).text, "html.parser")
    assert again.find(id="activity") is None


async def test_sign_out_says_so_and_the_favicon_is_there_issue20(world: WebWorld) -> None:
    alice = await world.sign_in(ALICE)
    await world.onboard(ALICE)
    token = await alice.csrf()
    out = await alice.browser.post("/auth/logout", data={"csrf_token": token})
    assert out.status_code == 303
    page = await alice.browser.get(out.headers["location"])
    assert "You are signed out." in page.text
    icon = await world.browser().get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
