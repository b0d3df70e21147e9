"""Microsoft's own Graph SDK for Python (msgraph-sdk) against the emulator (issue 5 "must
show"): GraphRequestAdapter with base_url, a bearer-token provider, and an httpx client
bound to the emulator app through ASGITransport — the SDK's code is unchanged."""

from __future__ import annotations

import warnings
from datetime import timedelta
from typing import Any

import httpx
import pytest

from support.graph_harness import BASE, GraphHarness
from support.notification_harness import LIFECYCLE_URL, NOTIFY_URL, Notified

with warnings.catch_warnings():
    # kiota warns about its own deprecated class when the SDK imports it (not our code).
    warnings.simplefilter("ignore", DeprecationWarning)
    from kiota_abstractions.authentication import AccessTokenProvider, AllowedHostsValidator
    from kiota_abstractions.authentication.base_bearer_token_authentication_provider import (
        BaseBearerTokenAuthenticationProvider,
    )
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.models.body_type import BodyType
    from msgraph.generated.models.category_color import CategoryColor
    from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
    from msgraph.generated.models.event import Event
    from msgraph.generated.models.item_body import ItemBody
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph.generated.models.outlook_category import OutlookCategory
    from msgraph.generated.models.subscription import Subscription
    from msgraph.generated.users.item.calendar_view.calendar_view_request_builder import (
        CalendarViewRequestBuilder,
    )
    from msgraph.graph_request_adapter import GraphRequestAdapter
    from msgraph.graph_request_adapter import options as sdk_adapter_options
    from msgraph.graph_service_client import GraphServiceClient
    from msgraph_core import GraphClientFactory


# The SDK's generated builders warn about their own deprecated classes when first imported.
pytestmark = pytest.mark.filterwarnings(
    "ignore:This class is deprecated:DeprecationWarning",
    "ignore:GetQueryParameters is deprecated:DeprecationWarning",
)


class StaticTokens(AccessTokenProvider):
    def __init__(self, token: str) -> None:
        self.token = token

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        return self.token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator(["graph.emu.test"])


def sdk_client(graph: GraphHarness | Notified) -> GraphServiceClient:
    # The same middleware options msgraph's GraphRequestAdapter uses for its own client
    # (they turn the SDK's "/users/me-token-to-replace" into "/me").
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(transport=httpx.ASGITransport(app=graph.app)),
        options=sdk_adapter_options,
    )
    adapter = GraphRequestAdapter(
        BaseBearerTokenAuthenticationProvider(StaticTokens(graph.token)), http
    )
    adapter.base_url = BASE
    return GraphServiceClient(request_adapter=adapter)


def lunch(subject: str) -> Event:
    return Event(
        subject=subject,
        body=ItemBody(content_type=BodyType.Text, content="See you there"),
        start=DateTimeTimeZone(date_time="2026-12-01T12:00:00", time_zone="UTC"),
        end=DateTimeTimeZone(date_time="2026-12-01T13:00:00", time_zone="UTC"),
        categories=["Sync"],
    )


async def test_sdk_reads_me(graph: GraphHarness) -> None:
    me = await sdk_client(graph).me.get()
    assert me is not None
    assert me.user_principal_name == "alice@contoso.test"
    assert me.display_name == "Alice Adams"


async def test_sdk_creates_lists_patches_and_deletes_events(graph: GraphHarness) -> None:
    client = sdk_client(graph)
    made = await client.me.events.post(lunch("Lunch"))
    assert made is not None
    assert made.id
    assert made.change_key
    assert made.start is not None
    assert made.start.date_time == "2026-12-01T12:00:00.0000000"
    listed = await client.me.events.get()
    assert listed is not None
    assert [e.subject for e in listed.value or []] == ["Lunch"]
    patched = await client.me.events.by_event_id(made.id).patch(Event(subject="Lunch [sync]"))
    assert patched is not None
    assert patched.subject == "Lunch [sync]"
    await client.me.events.by_event_id(made.id).delete()
    with pytest.raises(ODataError) as missing:
        await client.me.events.by_event_id(made.id).get()
    assert missing.value.error is not None
    assert missing.value.error.code == "ErrorItemNotFound"


async def test_sdk_reads_calendar_view(graph: GraphHarness) -> None:
    client = sdk_client(graph)
    await client.me.events.post(lunch("In view"))
    query = CalendarViewRequestBuilder.CalendarViewRequestBuilderGetQueryParameters(
        start_date_time="2026-12-01T00:00:00Z", end_date_time="2026-12-02T00:00:00Z", top=50
    )
    config = RequestConfiguration(query_parameters=query)
    config.headers.add("Prefer", 'outlook.timezone="Pacific Standard Time"')
    view = await client.me.calendar_view.get(request_configuration=config)
    assert view is not None
    [item] = view.value or []
    assert item.subject == "In view"
    assert item.start is not None
    assert item.start.time_zone == "Pacific Standard Time"
    assert item.start.date_time == "2026-12-01T04:00:00.0000000"


async def test_sdk_lists_and_creates_master_categories(graph: GraphHarness) -> None:
    client = sdk_client(graph)
    made = await client.me.outlook.master_categories.post(
        OutlookCategory(display_name="Sync", color=CategoryColor.Preset4)
    )
    assert made is not None
    assert made.display_name == "Sync"
    listed = await client.me.outlook.master_categories.get()
    assert listed is not None
    assert [c.display_name for c in listed.value or []] == ["Sync"]


async def test_sdk_runs_a_batch(graph: GraphHarness) -> None:
    from msgraph_core.requests.batch_request_content import BatchRequestContent
    from msgraph_core.requests.batch_request_item import BatchRequestItem

    client = sdk_client(graph)
    first = BatchRequestItem(client.me.events.to_post_request_information(lunch("One")))
    second = BatchRequestItem(client.me.events.to_post_request_information(lunch("Two")))
    content = BatchRequestContent({first.id: first, second.id: second})
    answer = await client.batch.post(batch_request_content=content)
    statuses = {answer.get_response_by_id(item.id).status for item in (first, second)}
    assert statuses == {201}
    listed = await client.me.events.get()
    assert listed is not None
    assert sorted(e.subject or "" for e in listed.value or []) == ["One", "Two"]


async def test_sdk_follows_delta_links_and_reads_removed_entries(graph: GraphHarness) -> None:
    from msgraph.generated.users.item.calendar_view.delta.delta_request_builder import (
        DeltaRequestBuilder,
    )

    client = sdk_client(graph)
    kept = await client.me.events.post(lunch("Kept"))
    gone = await client.me.events.post(lunch("Gone"))
    assert kept is not None
    assert gone is not None
    assert gone.id is not None
    query = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
        start_date_time="2026-12-01T00:00:00Z", end_date_time="2026-12-02T00:00:00Z"
    )
    config = RequestConfiguration(query_parameters=query)
    config.headers.add("Prefer", "odata.maxpagesize=1")
    page = await client.me.calendar_view.delta.get(request_configuration=config)
    seen: list[str | None] = []
    while page is not None and page.odata_next_link:
        seen += [e.subject for e in page.value or []]
        page = await client.me.calendar_view.delta.with_url(page.odata_next_link).get()
    assert page is not None
    assert page.odata_delta_link
    seen += [e.subject for e in page.value or []]
    assert sorted(s or "" for s in seen) == ["Gone", "Kept"]
    await client.me.events.by_event_id(gone.id).delete()
    changes = await client.me.calendar_view.delta.with_url(page.odata_delta_link).get()
    assert changes is not None
    [removed] = changes.value or []
    assert removed.id == gone.id
    assert removed.additional_data["@removed"] == {"reason": "deleted"}


async def test_sdk_creates_and_renews_a_subscription_R14b(notified: Notified) -> None:
    client = sdk_client(notified)
    made = await client.subscriptions.post(
        Subscription(
            change_type="created,updated,deleted",
            notification_url=NOTIFY_URL,
            lifecycle_notification_url=LIFECYCLE_URL,
            resource="me/events",
            expiration_date_time=notified.clock.now() + timedelta(days=2),
            client_state="sdk-state",
        )
    )
    assert made is not None
    assert made.id
    assert made.client_state == "sdk-state"
    assert len(notified.subscriber.validations) == 2
    later = notified.clock.now() + timedelta(days=6)
    renewed = await client.subscriptions.by_subscription_id(made.id).patch(
        Subscription(expiration_date_time=later)
    )
    assert renewed is not None
    assert renewed.expiration_date_time == later
    listed = await client.subscriptions.get()
    assert listed is not None
    assert [s.id for s in listed.value or []] == [made.id]
    await client.subscriptions.by_subscription_id(made.id).delete()
    assert notified.hub.book.all() == []
