"""`/subscriptions` against the emulator (issue 19 item 1): the validation handshake, each
call's documented answer, and the errors Graph gives for bad requests."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import unquote

import pytest

from m365emu.graph.subscriptions.models import OUTLOOK_MAX_MINUTES
from support.graph_harness import ALICE, BOB, TENANT
from support.notification_harness import LIFECYCLE_URL, NOTIFY_URL, Notified


async def test_create_validates_both_urls_with_a_plain_text_token_R14b(
    notified: Notified,
) -> None:
    made = await notified.subscribe()
    paths = [path for path, _token, _type in notified.subscriber.validations]
    assert paths == ["graph/notifications", "graph/lifecycle"]
    for _path, token, content_type in notified.subscriber.validations:
        assert token.startswith("Validation: Testing client application reachability")
        assert content_type.startswith("text/plain")
    assert made["notificationUrl"] == NOTIFY_URL
    assert made["lifecycleNotificationUrl"] == LIFECYCLE_URL


async def test_handshake_keeps_the_notification_urls_own_query_R14b(notified: Notified) -> None:
    await notified.subscribe(
        notificationUrl=NOTIFY_URL + "?tenant=t1", lifecycleNotificationUrl=None
    )
    [(_path, token, _type)] = notified.subscriber.validations
    assert " " in unquote(token)


async def test_subscription_answer_has_every_documented_property_R14b(notified: Notified) -> None:
    made = await notified.subscribe()
    assert made["@odata.context"].endswith("/$metadata#subscriptions/$entity")
    assert made["resource"] == "me/events"
    assert made["changeType"] == "created,updated,deleted"
    assert made["clientState"] == "s3cret-state"
    assert made["creatorId"] == ALICE
    assert made["applicationId"] == "app-1"
    assert made["latestSupportedTlsVersion"] == "v1_2"
    assert made["expirationDateTime"].endswith("Z")
    for name in ("encryptionCertificate", "encryptionCertificateId", "notificationUrlAppId"):
        assert made[name] is None


async def test_get_list_renew_reauthorize_and_delete_R14b(notified: Notified) -> None:
    made = await notified.subscribe()
    path = f"/subscriptions/{made['id']}"
    got = await notified.client.get(path, headers=notified.headers())
    assert got.status_code == 200
    assert got.json()["clientState"] == "s3cret-state"
    listed = await notified.client.get("/subscriptions", headers=notified.headers())
    assert [s["id"] for s in listed.json()["value"]] == [made["id"]]
    assert listed.json()["value"][0]["clientState"] is None  # subscription-list.md
    later = (notified.clock.now() + timedelta(days=3)).isoformat()
    renewed = await notified.client.patch(
        path, json={"expirationDateTime": later}, headers=notified.headers()
    )
    assert renewed.status_code == 200
    assert renewed.json()["expirationDateTime"] != made["expirationDateTime"]
    again = await notified.client.post(f"{path}/reauthorize", headers=notified.headers())
    assert again.status_code == 204
    gone = await notified.client.delete(path, headers=notified.headers())
    assert gone.status_code == 204
    missing = await notified.client.get(path, headers=notified.headers())
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "ResourceNotFound"


async def test_patch_to_a_new_url_runs_the_handshake_again_R14b(notified: Notified) -> None:
    made = await notified.subscribe(lifecycleNotificationUrl=None)
    moved = "https://subscriber.test/graph/moved"
    answer = await notified.client.patch(
        f"/subscriptions/{made['id']}", json={"notificationUrl": moved}, headers=notified.headers()
    )
    assert answer.status_code == 200
    assert answer.json()["notificationUrl"] == moved
    assert [p for p, _t, _c in notified.subscriber.validations] == [
        "graph/notifications",
        "graph/moved",
    ]


async def test_users_id_events_names_the_signed_in_user_only_R14b(notified: Notified) -> None:
    mine = await notified.subscribe(resource=f"users/{ALICE}/events")
    assert mine["resource"] == f"users/{ALICE}/events"
    answer = await notified.client.post(
        "/subscriptions",
        json=notified.body(resource=f"users/{BOB}/events"),
        headers=notified.headers(),
    )
    assert answer.status_code == 403


async def test_another_users_subscription_is_not_found_R19(notified: Notified) -> None:
    made = await notified.subscribe()
    bob = notified.verifier.issue(TENANT, BOB, "bob@contoso.test")
    answer = await notified.client.get(
        f"/subscriptions/{made['id']}", headers=notified.headers(bob)
    )
    assert answer.status_code == 404
    listed = await notified.client.get("/subscriptions", headers=notified.headers(bob))
    assert listed.json()["value"] == []


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"resource": "me/messages"}, 400, "InvalidRequest"),
        ({"resource": "me/calendars"}, 400, "InvalidRequest"),
        ({"changeType": "created,moved"}, 400, "InvalidRequest"),
        ({"changeType": None}, 400, "InvalidRequest"),
        ({"expirationDateTime": None}, 400, "InvalidRequest"),
        ({"expirationDateTime": "2020-01-01T00:00:00Z"}, 400, "ExtensionError"),
        ({"notificationUrl": "http://subscriber.test/graph/notifications"}, 400, "InvalidRequest"),
        ({"lifecycleNotificationUrl": "http://subscriber.test/x"}, 400, "InvalidRequest"),
        ({"notificationUrl": "not a url"}, 400, "InvalidRequest"),
        ({"clientState": "x" * 129}, 400, "InvalidRequest"),
        ({"latestSupportedTlsVersion": "v2_0"}, 400, "InvalidRequest"),
        ({"includeResourceData": True}, 400, "InvalidRequest"),
        ({"colour": "blue"}, 400, "InvalidRequest"),
    ],
)
async def test_bad_create_requests_get_graph_errors_and_make_nothing_R14b(
    notified: Notified, overrides: dict[str, object], status: int, code: str
) -> None:
    answer = await notified.client.post(
        "/subscriptions", json=notified.body(**overrides), headers=notified.headers()
    )
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    assert notified.hub.book.all() == []


async def test_expiry_beyond_the_outlook_maximum_is_refused_R14b(notified: Notified) -> None:
    too_far = notified.clock.now() + timedelta(minutes=OUTLOOK_MAX_MINUTES, seconds=1)
    answer = await notified.client.post(
        "/subscriptions",
        json=notified.body(expirationDateTime=too_far.isoformat()),
        headers=notified.headers(),
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "code": "ExtensionError",
        "message": f"Subscription expiration can only be {OUTLOOK_MAX_MINUTES} minutes in the "
        "future.",
        "innerError": answer.json()["error"]["innerError"],
    }
    at_most = notified.clock.now() + timedelta(minutes=OUTLOOK_MAX_MINUTES)
    await notified.subscribe(expirationDateTime=at_most.isoformat())


@pytest.mark.parametrize(
    ("setup", "code", "message"),
    [
        ({"validation_status": 500}, "ValidationError", "must respond with 200 OK"),
        ({"answer_token": "something else"}, "ValidationError", "must exactly match"),
        ({"validation_type": "text/html"}, "ValidationError", "must respond with 200 OK"),
    ],
)
async def test_a_url_failing_validation_makes_no_subscription_R14b(
    notified: Notified, setup: dict[str, object], code: str, message: str
) -> None:
    for name, value in setup.items():
        setattr(notified.subscriber, name, value)
    answer = await notified.client.post(
        "/subscriptions", json=notified.body(), headers=notified.headers()
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == code
    assert message in answer.json()["error"]["message"]
    assert notified.hub.book.all() == []


async def test_validation_answered_after_10_seconds_times_out_R14b(notified: Notified) -> None:
    assert notified.hub.validation_timeout == 10.0
    # The 10 s limit, scaled down so the test takes a fraction of a second.
    notified.hub.validation_timeout = 0.2
    notified.subscriber.validation_delay = 0.5
    answer = await notified.client.post(
        "/subscriptions", json=notified.body(), headers=notified.headers()
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "Subscription validation request timed out."


@pytest.mark.parametrize(
    ("scope", "status"),
    [("User.Read", 403), ("Calendars.Read", 201), ("Calendars.ReadWrite", 201)],
)
async def test_subscribing_needs_a_calendar_read_scope_R14b(
    notified: Notified, scope: str, status: int
) -> None:
    token = notified.verifier.issue(TENANT, ALICE, "alice@contoso.test", scopes=frozenset({scope}))
    answer = await notified.client.post(
        "/subscriptions", json=notified.body(), headers=notified.headers(token)
    )
    assert answer.status_code == status


async def test_patch_cannot_add_a_lifecycle_url_R14b(notified: Notified) -> None:
    made = await notified.subscribe(lifecycleNotificationUrl=None)
    answer = await notified.client.patch(
        f"/subscriptions/{made['id']}",
        json={"lifecycleNotificationUrl": LIFECYCLE_URL},
        headers=notified.headers(),
    )
    assert answer.status_code == 400


async def test_renewal_past_the_maximum_is_refused_R14b(notified: Notified) -> None:
    made = await notified.subscribe()
    too_far = notified.clock.now() + timedelta(days=8)
    answer = await notified.client.patch(
        f"/subscriptions/{made['id']}",
        json={"expirationDateTime": too_far.isoformat()},
        headers=notified.headers(),
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "ExtensionError"


async def test_plain_http_is_accepted_when_the_emulator_allows_it_R14b(notified: Notified) -> None:
    notified.hub.plain_http = lambda: True
    made = await notified.subscribe(
        notificationUrl="http://subscriber.test/graph/notifications",
        lifecycleNotificationUrl="http://subscriber.test/graph/lifecycle",
    )
    assert made["notificationUrl"].startswith("http://")
