"""One contract suite for the CALENDAREVENT store, run on SQLite and on PostgreSQL.

R16: the schema refuses a second link for one task or one event. R22: a repository
built for store A never reads or changes store B's rows; secrets are unreadable raw;
key rotation keeps every secret readable.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from s5sync.core.records import ActivityEntry, CachedEvent, DeltaRecord
from s5sync.core.snapshots import Link, LinkState, Origin
from s5sync.store.cycle_rows import link_values
from s5sync.store.cycles import SqlCycleStore
from s5sync.store.database import Database
from s5sync.store.directory import Directory, LeaseLost, NotFound
from s5sync.store.models import EventLink
from s5sync.store.scope import TenantScope
from s5sync.store.secrets import SecretBox, SecretUnreadable
from s5sync.store.token_caches import TokenCacheRows
from s5sync.sync.ports import Refusal
from support.cycle_rows import finish_cycle, record_cycle, save_window, start_cycle

KEY_A = SecretBox.generate_key()
KEY_B = SecretBox.generate_key()


NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
S5_URL = "postgresql://s5user:hunter2-s5-secret@db.store-a.example/systemfive"
TOKEN_CACHE = '{"RefreshToken": {"rt": {"secret": "canary-refresh-token-7f3a"}}}'


async def two_stores(db: Database, box: SecretBox) -> tuple[TenantScope, int, TenantScope, int]:
    directory = Directory(db, box)
    a = await directory.create_tenant("tenant-a", "Store A", S5_URL, NOW)
    b = await directory.create_tenant("tenant-b", "Store B", "sqlite:///b.db", NOW)
    scope_a, scope_b = TenantScope(db, box, a.id), TenantScope(db, box, b.id)
    async with scope_a.begin() as unit:
        user_a = await unit.users.signed_in("oid-a", "alice@a.example", "Alice", NOW)
        await unit.users.save_token_cache(user_a.id, TOKEN_CACHE)
    async with scope_b.begin() as unit:
        user_b = await unit.users.signed_in("oid-b", "bob@b.example", "Bob", NOW)
    return scope_a, user_a.id, scope_b, user_b.id


def cycles(db: Database, box: SecretBox, scope: TenantScope) -> SqlCycleStore:
    """The store's cycle rows as a cycle writes them (the one layer for runs and leases)."""
    return SqlCycleStore(db, box, scope.tenant_id)


async def insert_link(db: Database, tenant_id: int, user_id: int, link: Link) -> None:
    """One mapping row written with a plain statement: what the schema itself refuses
    (R16 holds even if code is wrong)."""
    async with db.transaction(tenant_id) as session:
        await session.execute(
            insert(EventLink).values(
                tenant_id=tenant_id,
                user_id=user_id,
                **link_values(link),
                created_at=NOW,
                updated_at=NOW,
            )
        )


def pushed(task_id: int, event_id: str | None = None) -> Link:
    state = LinkState.ACTIVE if event_id else LinkState.PENDING
    return Link(task_id, event_id, Origin.S5, state, transaction_id=f"tx-{task_id}-{event_id}")


async def test_second_link_for_one_task_is_refused_by_the_database_R16(
    db: Database, box: SecretBox
) -> None:
    scope, user, _, _ = await two_stores(db, box)
    await insert_link(db, scope.tenant_id, user, pushed(7, "event-1"))
    with pytest.raises(IntegrityError):
        await insert_link(db, scope.tenant_id, user, pushed(7, "event-2"))
    async with scope.begin(write=False) as unit:
        assert [link.event_id for link in await unit.links.all(user)] == ["event-1"]


async def test_second_link_for_one_event_is_refused_by_the_database_R16(
    db: Database, box: SecretBox
) -> None:
    scope, user, _, _ = await two_stores(db, box)
    await insert_link(db, scope.tenant_id, user, pushed(7, "event-1"))
    with pytest.raises(IntegrityError):
        await insert_link(db, scope.tenant_id, user, pushed(8, "event-1"))


async def test_pending_links_without_event_ids_do_not_collide_R16(
    db: Database, box: SecretBox
) -> None:
    scope, user, _, _ = await two_stores(db, box)
    async with scope.begin() as unit:
        await unit.users.onboard(user, 1, NOW)
    store = cycles(db, box, scope)
    begun = await start_cycle(store, user, NOW)
    assert begun is not None
    async with store.link_writes(begun.lease) as rows:  # as a cycle writes them
        await rows.add(user, pushed(1), NOW)
        await rows.add(user, pushed(2), NOW)
        await rows.replace(user, pushed(1), pushed(1, "event-1"), NOW)
    await finish_cycle(store, begun, NOW)
    async with scope.begin(write=False) as unit:
        links = await unit.links.all(user)
    assert [(link.task_id, link.event_id, link.state) for link in links] == [
        (1, "event-1", LinkState.ACTIVE),
        (2, None, LinkState.PENDING),
    ]


async def test_repository_of_store_a_never_sees_or_changes_store_b_R22(
    db: Database, box: SecretBox
) -> None:
    scope_a, _, scope_b, user_b = await two_stores(db, box)
    async with scope_b.begin() as unit:
        await unit.users.onboard(user_b, 1, NOW)
    await insert_link(db, scope_b.tenant_id, user_b, pushed(1, "b-event"))
    cached = CachedEvent("b-event", {"subject": "x"}, "ck", "h")
    await save_window(
        cycles(db, box, scope_b), user_b, NOW, DeltaRecord(None, NOW, NOW, NOW), [cached]
    )
    entry = ActivityEntry("push", "create_event", None, 1, "b-event", "B's task", "made")
    await record_cycle(cycles(db, box, scope_b), user_b, NOW, entries=[entry])
    async with scope_a.begin() as unit:
        assert [u.email for u in await unit.users.all()] == ["alice@a.example"]
        assert await unit.users.find(user_b) is None
        assert await unit.links.all(user_b) == []
        assert await unit.runs.activity(user_b) == []
        assert await unit.runs.prune(NOW + timedelta(days=1)) == 0
        assert (await unit.tenant.get()).ms_tenant_id == "tenant-a"
    assert await cycles(db, box, scope_a).cached(user_b, None) == {}
    # Store A's cycle store cannot start B's user, nor write B's rows under B's own lease.
    with pytest.raises(NotFound):
        await cycles(db, box, scope_a).start(user_b, "w", NOW, timedelta(minutes=5))
    begun_b = await start_cycle(cycles(db, box, scope_b), user_b, NOW + timedelta(minutes=1))
    assert begun_b is not None
    with pytest.raises(LeaseLost):
        async with cycles(db, box, scope_a).link_writes(begun_b.lease) as rows:
            await rows.delete(user_b, pushed(1, "b-event"))
    await finish_cycle(cycles(db, box, scope_b), begun_b, NOW + timedelta(minutes=1))
    assert await cycles(db, box, scope_a).cached(user_b, ["b-event"]) == {}
    assert set(await cycles(db, box, scope_b).cached(user_b, None)) == {"b-event"}
    async with scope_b.begin(write=False) as unit:
        assert len(await unit.links.all(user_b)) == 1
        assert len(await unit.runs.activity(user_b)) == 1


async def test_secrets_hold_no_plaintext_when_read_raw_R22(db: Database, box: SecretBox) -> None:
    scope, user, _, _ = await two_stores(db, box)
    async with scope.begin() as unit:
        await unit.users.onboard(user, 1, NOW)
    delta = DeltaRecord("https://graph/delta?$deltatoken=canary-delta", NOW, NOW, NOW)
    await save_window(cycles(db, box, scope), user, NOW, delta)
    async with db.transaction() as session:
        dump = []
        for table in ("tenant", "app_user", "delta_state"):
            rows = (await session.execute(text(f"SELECT * FROM {table}"))).all()
            dump += [repr(row) for row in rows]
    raw = "\n".join(dump)
    for secret in ("hunter2-s5-secret", "canary-refresh-token-7f3a", "canary-delta"):
        assert secret not in raw
    assert await Directory(db, box).s5_connection(1) == S5_URL
    assert await TokenCacheRows(db, box, scope.tenant_id).load(user) == TOKEN_CACHE


async def test_key_rotation_keeps_every_secret_readable_R22(db: Database) -> None:
    old = SecretBox([KEY_A])
    scope, user, _, _ = await two_stores(db, old)
    both = SecretBox([KEY_B, KEY_A])
    assert await Directory(db, both).rotate_keys() >= 3
    only_new = SecretBox([KEY_B])
    assert await Directory(db, only_new).s5_connection(1) == S5_URL
    assert await TokenCacheRows(db, only_new, scope.tenant_id).load(user) == TOKEN_CACHE
    with pytest.raises(SecretUnreadable):
        await Directory(db, old).s5_connection(1)


async def test_lease_admits_one_cycle_and_the_fence_stops_a_stale_one_R16(
    db: Database, box: SecretBox
) -> None:
    scope, user, _, _ = await two_stores(db, box)
    async with scope.begin() as unit:
        await unit.users.onboard(user, 1, NOW)
    store = cycles(db, box, scope)
    first = await start_cycle(store, user, NOW)
    assert first is not None
    assert await store.start(user, "w2", NOW, timedelta(minutes=5)) is Refusal.BUSY
    later = NOW + timedelta(minutes=6)
    third = await start_cycle(store, user, later)
    assert third is not None
    assert third.lease.fence == first.lease.fence + 1
    with pytest.raises(LeaseLost):
        async with store.link_writes(first.lease) as rows:
            await rows.add(user, pushed(1, "e"), NOW)
    async with store.link_writes(third.lease) as rows:
        await rows.add(user, pushed(1, "e"), NOW)
    await finish_cycle(store, third, later, next_run_at=later + timedelta(minutes=10))
    async with scope.begin(write=False) as unit:
        record = await unit.users.get(user)
    assert (record.last_outcome, record.next_run_at) == ("ok", later + timedelta(minutes=10))


async def test_due_users_are_onboarded_active_and_past_their_next_run_R14(
    db: Database, box: SecretBox
) -> None:
    scope, user, _, _ = await two_stores(db, box)
    directory = Directory(db, box)
    assert await directory.due_users(NOW) == []  # not onboarded (R20)
    async with scope.begin() as unit:
        await unit.users.onboard(user, employee_id=3, now=NOW)
        await unit.users.heartbeat(user, NOW)
    assert [u.id for u in await directory.due_users(NOW)] == [user]
    assert await directory.due_users(NOW + timedelta(minutes=3)) == []  # idle (R14)
    await directory.update_tenant("tenant-a", background_sync=True)
    assert [u.id for u in await directory.due_users(NOW + timedelta(minutes=3))] == [user]


async def test_retention_prunes_only_old_records_of_its_own_store_R21b(
    db: Database, box: SecretBox
) -> None:
    scope_a, user_a, scope_b, user_b = await two_stores(db, box)
    old, new = NOW - timedelta(days=40), NOW
    for scope, user in ((scope_a, user_a), (scope_b, user_b)):
        async with scope.begin() as unit:
            await unit.users.onboard(user, 1, old)
        for at in (old, new):
            entry = ActivityEntry("push", "skip", "start_passed", 1, None, "t", "m")
            await record_cycle(cycles(db, box, scope), user, at, entries=[entry])
    async with scope_a.begin() as unit:
        assert await unit.runs.prune(NOW - timedelta(days=30)) == 2
        assert len(await unit.runs.activity(user_a)) == 1
    async with scope_b.begin(write=False) as unit:
        assert len(await unit.runs.activity(user_b)) == 2


async def test_token_cache_rows_load_save_and_never_reach_another_store_R22(
    db: Database, box: SecretBox
) -> None:
    """`TokenCacheRows` (one round trip each way on PostgreSQL, issue 25): what was saved
    is loaded, a user with no cache loads None, and another store's user is not found
    either way, as if absent (R22)."""
    scope, user, _, stranger = await two_stores(db, box)
    rows = TokenCacheRows(db, box, scope.tenant_id)
    assert await rows.load(user) == TOKEN_CACHE
    await rows.save(user, '{"AccessToken": {}}')
    assert await rows.load(user) == '{"AccessToken": {}}'
    await rows.save(user, None)
    assert await rows.load(user) is None
    with pytest.raises(NotFound):
        await rows.load(stranger)
    with pytest.raises(NotFound):
        await rows.save(stranger, "{}")
