"""Alerts by e-mail end to end (R21d, R19b) against a real SMTP server: aiosmtpd, started
here, requiring STARTTLS on a test certificate and AUTH. One alert per problem, the
recovery mail, the digest, a mail server that is down and comes back (nothing lost,
nothing sent twice), and no token or secret in any mail."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import update

from m365emu.mail.smtp import MailSink, serve_smtp
from m365emu.tls import TlsFiles, ensure_tls_files
from s5sync.alerts.service import Alerts
from s5sync.alerts.smtp import SmtpMailer
from s5sync.entrypoints.bootstrap import Services, build_services
from s5sync.settings import Settings
from s5sync.store.migrate import upgrade
from s5sync.store.models import AppUser, SyncRun
from s5sync.store.secrets import SecretBox

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # 10:00 in New York
SMTP_PASSWORD = "smtp-Pa55word-never-mailed"
S5_SECRET = "sqlite:///secret-system-five.db?password=s5-Secret-Never-Mailed"
TOKEN_CACHE = '{"RefreshToken": {"x": {"secret": "refresh-Token-Never-Mailed"}}}'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Relay:
    """The test's mail server, which can go down and come back on the same port."""

    tls: TlsFiles
    port: int
    inbox: list[tuple[str, EmailMessage]] = field(default_factory=list)
    server: asyncio.Server | None = None

    def __post_init__(self) -> None:
        self.sink = MailSink(lambda to, message: self.inbox.append((to, message)))

    async def up(self) -> None:
        self.server = await serve_smtp(
            self.sink,
            "127.0.0.1",
            self.port,
            cert=self.tls.server_cert,
            key=self.tls.server_cert.with_name("server.key"),
            username="s5sync",
            password=SMTP_PASSWORD,
        )

    async def down(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()
        self.server = None

    def subjects(self, to: str) -> list[str]:
        return [str(m["Subject"]) for rcpt, m in self.inbox if rcpt == to]


@dataclass
class World:
    services: Services
    alerts: Alerts
    relay: Relay
    tenant_id: int
    now: datetime = NOW

    def clock(self) -> datetime:
        return self.now

    async def user(self, email: str, **values: object) -> int:
        async with self.services.scope(self.tenant_id).begin() as unit:
            user = await unit.users.signed_in(
                f"oid-{email}", email, email.split("@")[0].title(), NOW - timedelta(days=2)
            )
            await unit.users.save_token_cache(user.id, TOKEN_CACHE)
            await unit.users.onboard(user.id, 4, NOW - timedelta(days=2))
            if values:
                await unit.session.execute(
                    update(AppUser).where(AppUser.id == user.id).values(**values)
                )
            return user.id

    async def runs(self, user_id: int, *outcomes: str) -> None:
        """Finished cycles, newest last, ten minutes apart, ending now."""
        async with self.services.scope(self.tenant_id).begin() as unit:
            for back, outcome in enumerate(reversed(outcomes)):
                at = self.now - timedelta(minutes=10 * back)
                unit.session.add(
                    SyncRun(
                        tenant_id=self.tenant_id, user_id=user_id, now=at, started_at=at,
                        finished_at=at, outcome=outcome, error="Graph answered 503",
                    )
                )  # fmt: skip
            await unit.session.execute(
                update(AppUser).where(AppUser.id == user_id).values(last_outcome=outcomes[-1])
            )


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    url = f"sqlite:///{tmp_path}/ce.db"
    upgrade(url)
    tls = ensure_tls_files(tmp_path / "tls")
    relay = Relay(tls, free_port())
    settings = Settings(
        database_url=url,
        secret_keys=SecretBox.generate_key(),
        smtp_host="localhost",
        smtp_port=relay.port,
        smtp_username="s5sync",
        smtp_password=SMTP_PASSWORD,
        smtp_ca_bundle=tls.ca_cert,
        smtp_timeout_seconds=5,
        mail_from="s5sync@contoso.test",
        public_url="https://sync.contoso.test",
    )
    services = build_services(settings)
    tenant = await services.directory.create_tenant("ms-contoso", "Contoso", S5_SECRET, NOW)
    holder: list[World] = []
    alerts = Alerts(
        services.directory, SmtpMailer(settings), settings.public_url, lambda: holder[0].clock()
    )
    built = World(services, alerts, relay, tenant.id)
    holder.append(built)
    admin = await built.user("ada@contoso.test")
    async with services.scope(tenant.id).begin() as unit:
        await unit.users.set_admin(admin, True)
    await relay.up()
    yield built
    if relay.server is not None:
        await relay.down()
    await services.aclose()


async def test_one_alert_per_problem_to_the_administrators_and_the_user_R21d_R19b(
    world: World,
) -> None:
    await world.user("bob@contoso.test", status="needs_sign_in")
    first = await world.alerts.run()
    assert (first.queued, first.sent) == (2, 2)
    assert world.relay.subjects("ada@contoso.test") == [
        "s5sync: Bob — must sign in again (Contoso)"
    ]
    assert world.relay.subjects("bob@contoso.test") == [
        "Sign in to s5sync again to keep your calendar in sync"
    ]
    for hours in (1, 5, 8):  # the same store day: nothing more
        world.now = NOW + timedelta(hours=hours)
        assert (await world.alerts.run()).queued == 0
    assert len(world.relay.inbox) == 2
    _, mail = world.relay.inbox[0]
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "2026-12-04 10:00 (America/New_York)" in text.get_content()  # store time
    assert "What to do:" in text.get_content()
    assert "https://sync.contoso.test/admin" in html.get_content()


async def test_recovery_mail_when_the_problem_is_over_R21d(world: World) -> None:
    carol = await world.user("carol@contoso.test")
    await world.runs(carol, "failed", "partial", "failed")
    await world.alerts.run()
    assert world.relay.subjects("ada@contoso.test") == ["s5sync: Carol — sync is failing (Contoso)"]
    world.now = NOW + timedelta(minutes=10)
    await world.runs(carol, "ok")
    await world.alerts.run()
    assert world.relay.subjects("ada@contoso.test")[1:] == ["Back to normal: Carol (Contoso)"]
    world.now = NOW + timedelta(minutes=20)
    await world.alerts.run()
    assert len(world.relay.inbox) == 2


async def test_the_daily_digest_once_a_day_R21d(world: World) -> None:
    await world.services.directory.update_tenant(world.tenant_id, alert_digest=True)
    await world.user("bob@contoso.test", status="needs_sign_in")
    for minutes in (0, 1, 30):
        world.now = NOW + timedelta(minutes=minutes)
        await world.alerts.run()
    digests = [s for s in world.relay.subjects("ada@contoso.test") if "digest" in s]
    assert digests == ["s5sync daily digest (Contoso): 1 need attention"]


async def test_a_mail_server_down_loses_nothing_and_sends_nothing_twice_R21d(
    world: World,
) -> None:
    await world.relay.down()
    carol = await world.user("carol@contoso.test")
    await world.runs(carol, "failed", "failed", "failed")
    down = await world.alerts.run()
    assert (down.queued, down.sent, down.failed) == (1, 0, 1)
    world.now = NOW + timedelta(seconds=30)  # before the retry is due: not tried
    assert (await world.alerts.run()).failed == 0
    await world.relay.up()
    world.now = NOW + timedelta(minutes=2)
    back = await world.alerts.run()
    assert (back.queued, back.sent) == (0, 1)
    for minutes in (3, 10, 60):
        world.now = NOW + timedelta(minutes=minutes)
        assert (await world.alerts.run()).sent == 0
    assert world.relay.subjects("ada@contoso.test") == ["s5sync: Carol — sync is failing (Contoso)"]
    assert await world.alerts.outbox.pending() == 0


async def test_no_token_or_secret_in_any_mail_R22(world: World) -> None:
    await world.services.directory.update_tenant(world.tenant_id, alert_digest=True)
    await world.user("bob@contoso.test", status="needs_sign_in", last_error="invalid_grant")
    carol = await world.user("carol@contoso.test")
    await world.runs(carol, "failed", "failed", "failed")
    await world.alerts.run()
    assert len(world.relay.sink.raw) >= 3
    secrets = [
        SMTP_PASSWORD,
        S5_SECRET,
        "refresh-Token-Never-Mailed",
        *world.services.settings.fernet_keys(),
    ]
    for raw in world.relay.sink.raw:
        for secret in secrets:
            assert secret.encode() not in raw


async def test_an_invitation_is_mailed_once_with_the_sign_in_link_R20_R21d(world: World) -> None:
    from s5sync.staff.invites import Invitations
    from s5sync.sync.ports import TaskStore
    from s5sync.testing.tasks import FakeTaskStore

    store = FakeTaskStore()
    dave = store.desk.add_employee("E004", "Dave Okafor", "dave@contoso.test")

    async def task_store_for(_tenant_id: int) -> TaskStore:
        return store

    invitations = Invitations(
        world.services.scope, task_store_for, world.clock, "https://sync.contoso.test", True
    )
    admin = await world.services.directory.find_users("ada@contoso.test")
    said = await invitations.invite(admin[0], dave)
    assert "Dave Okafor will receive the sign-in link at dave@contoso.test" in said
    await invitations.invite(admin[0], dave)  # pressed twice the same day: one mail
    round_ = await world.alerts.run()
    assert round_.sent == 1
    [(to, mail)] = world.relay.inbox
    assert to == "dave@contoso.test"
    assert "sign in to s5sync" in str(mail["Subject"])
    body = mail.get_body(("plain",))
    assert body is not None
    assert "https://sync.contoso.test/" in body.get_content()
