"""R22: no token, secret or event body in any log line. Every logger is set to DEBUG and
captured while a user signs in, refreshes, reads, writes, meets throttling and faults and
is revoked; planted canary values (the client secret, event bodies) and every token MSAL
obtained (access, refresh, id, the auth code and PKCE verifier) are then searched for in
every record, its arguments, its extra fields and its formatted traceback."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from m365emu.demo import DEMO_TENANT_ID, register_app
from m365emu.testing import TEST_REDIRECT_URI, RunningEmulator, sign_in_with_form_posts
from s5sync.outlook.errors import GraphError, NeedsSignIn
from s5sync.outlook.identity import IdentityConfig, MsalIdentity
from s5sync.outlook.tokens import UserTokens
from s5sync.outlook.transport import AiohttpTransport
from s5sync.sync.ports import EventUpdate, EventWrite
from s5sync.testing.graph_emulator import UserActions, graph_calendar
from support.event_writes import create_events, update_events
from support.signin_harness import running

__all__ = ["running"]

CANARY_SECRET = f"canary-secret-{uuid.uuid4().hex}"
CANARY_BODY = f"canary-body-{uuid.uuid4().hex}"
CANARY_USER_BODY = f"canary-user-body-{uuid.uuid4().hex}"
NOW = datetime.now(UTC).replace(microsecond=0)


class Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self, *, client_side: bool = False) -> Iterator[str]:
        formatter = logging.Formatter()
        for record in self.records:
            if client_side and record.name.startswith(("uvicorn", "m365emu")):
                continue
            yield record.getMessage()
            yield repr(record.args)
            yield repr(record.__dict__)
            if record.exc_info:
                yield formatter.formatException(record.exc_info)


@pytest.fixture
def every_logger_at_debug() -> Iterator[Everything]:
    handler = Everything()
    manager = logging.root.manager
    loggers = [logging.root] + [
        lg for lg in manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    saved = [(lg, lg.level, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
    logging.root.addHandler(handler)
    for lg in loggers:
        if not lg.propagate:
            lg.addHandler(handler)
    try:
        yield handler
    finally:
        for lg, level, disabled in saved:
            lg.setLevel(level)
            lg.disabled = disabled
            lg.removeHandler(handler)
        logging.root.removeHandler(handler)


def tokens_of(cache_text: str) -> list[str]:
    cache = json.loads(cache_text)
    return [
        entry["secret"]
        for kind in ("AccessToken", "RefreshToken", "IdToken")
        for entry in cache.get(kind, {}).values()
    ]


class Memory:
    def __init__(self, text: str) -> None:
        self.text = text
        self.seen: list[str] = [text]

    async def load(self) -> str | None:
        return self.text

    async def save(self, serialized: str) -> None:
        self.text = serialized
        self.seen.append(serialized)


async def test_no_token_secret_or_event_body_in_any_log_line_R22(
    running: RunningEmulator, every_logger_at_debug: Everything
) -> None:
    client_id = str(uuid.uuid4())
    register_app(
        running.emulator,
        client_id=client_id,
        client_secret=CANARY_SECRET,
        redirect_uris=[TEST_REDIRECT_URI],
    )
    identity = MsalIdentity(
        IdentityConfig(
            client_id,
            CANARY_SECRET,
            running.urls.authority(DEMO_TENANT_ID),
            ca_bundle=running.urls.ca_cert,
        )
    )
    email = f"logs-{uuid.uuid4().hex[:6]}@contoso.example"
    running.emulator.directory.add_user(DEMO_TENANT_ID, email, "Log Tester")
    flow = await identity.begin_sign_in(TEST_REDIRECT_URI, login_hint=email)
    _, posted = sign_in_with_form_posts(flow["auth_uri"], email, running.ssl_context())
    signed = await identity.complete_sign_in(flow, posted)
    cache = Memory(signed.token_cache)
    tokens = UserTokens(identity, cache, object_id=signed.object_id)
    await tokens.token(force_refresh=True)

    async with (
        httpx.AsyncClient(
            base_url=running.urls.graph, verify=running.ssl_context(), trust_env=False
        ) as http,
        httpx.AsyncClient(base_url=running.urls.control) as control,
    ):
        user = UserActions(http, tokens)
        graph = AiohttpTransport(running.urls.graph, running.ssl_context())  # production's
        day = NOW + timedelta(days=3)
        await user.creates("Own [sync]", day, day + timedelta(hours=1), body=CANARY_USER_BODY)
        calendar = graph_calendar(graph, tokens)
        first = await calendar.read_window(None, NOW, NOW + timedelta(days=14))
        for fault in (
            {"method": "POST", "path": "/$batch", "kind": "throttle", "retry_after": 1},
            {"method": "POST", "path": "/me/events", "kind": "error", "status": 500},
        ):
            assert (await control.post("/faults", json=fault)).status_code == 201
        writes = [
            EventWrite(
                f"Task {n}",
                f"<p>{CANARY_BODY}</p>",
                day,
                day + timedelta(hours=1),
                15,
                ("Received From System5",),
                task_ref=f"logs:{n}",
                transaction_id=f"logs-tx-{n}",
            )
            for n in range(3)
        ]
        created = await create_events(calendar, writes)
        made = [r.event for r in created if r.event]
        await update_events(calendar, [EventUpdate(made[0].id, "stale", writes[0])])
        await calendar.get_event(made[1].id)
        await calendar.find_by_task_refs(["logs:0", "logs:9"])
        await calendar.ensure_category("Received From System5", "preset4")
        await calendar.read_window(first.delta_link, NOW, NOW + timedelta(days=14))
        with pytest.raises(GraphError):
            await graph_calendar(graph, _Garbage()).get_event(made[1].id)
        assert (await control.post(f"/users/{email}/revoke")).status_code == 200
        await graph.aclose()
    with pytest.raises(NeedsSignIn):
        await tokens.token(force_refresh=True)
    identity.close()

    secrets = [CANARY_SECRET, CANARY_BODY, CANARY_USER_BODY, flow["code_verifier"]]
    secrets += [posted["code"]]
    for text in cache.seen:
        secrets += tokens_of(text)
    assert len(every_logger_at_debug.records) > 20  # the capture really saw the run
    assert logging.getLogger("httpx").level == logging.WARNING  # delta links are in URLs
    assert logging.getLogger("aiohttp").level == logging.WARNING
    assert first.delta_link.partition("deltatoken=")[2]
    leaks = [
        (secret[:12], text[:200])
        for text in every_logger_at_debug.texts()
        for secret in secrets
        if secret in text
    ]
    assert leaks == [], "\n".join(str(leak) for leak in leaks)
    # Delta links carry sync-state tokens: s5sync never logs them (the emulator's own
    # access log, standing in for Microsoft's servers, is not s5sync's).
    state_token = first.delta_link.partition("deltatoken=")[2]
    assert not [t for t in every_logger_at_debug.texts(client_side=True) if state_token in t]


class _Garbage:
    async def token(self, *, force_refresh: bool = False) -> str:
        return "not-a-jwt"
