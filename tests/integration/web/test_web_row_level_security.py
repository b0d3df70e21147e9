"""The web app and its cycles deployed as docs/operations.md §10 says (R22): PostgreSQL,
the `Directory` on the owner's role, every store-bound transaction on a role that owns
nothing and cannot bypass row-level security (`S5SYNC_TENANT_DATABASE_URL`).

The access and options suites run again here on that deployment: every page, form and
cycle they drive works with the policies binding, and a store-bound transaction that
forgets its filter still sees only its own store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

# Collected again here, on the row-level-security world.
from integration.web.test_admin_access import (  # noqa: F401
    test_activity_of_one_store_never_shows_in_the_other_R22,
    test_an_administrator_cannot_change_another_stores_users_R22,
    test_each_administrator_sees_only_their_own_store_R22,
    test_every_page_answers_each_role_as_expected_in_both_stores_R21c_R22,
    test_options_saved_by_one_store_leave_the_other_unchanged_R21_R22,
    test_staff_cannot_change_options_or_users_even_with_a_valid_token_R21c,
)
from integration.web.test_admin_options import (  # noqa: F401
    test_administrator_maps_unmaps_and_removes_staff_from_system_fives_list_R20,
    test_new_tag_and_category_take_effect_on_the_next_cycle_R21b,
)
from m365emu.testing import RunningEmulator
from s5sync.store.migrate import upgrade
from support.web_world import WebWorld, web_world

pytestmark = pytest.mark.postgres


@pytest.fixture
def role_urls(pg_databases: Any) -> tuple[str, str]:
    """A migrated database: its owner's URL and the non-owner role's URL."""
    owner: str = pg_databases.create()
    upgrade(owner)  # the role's grants cover the tables that exist
    return owner, pg_databases.app_role(owner)


@pytest.fixture
async def world(
    tmp_path: Path, running: RunningEmulator, role_urls: tuple[str, str]
) -> AsyncIterator[WebWorld]:
    running.emulator.faults.clear()
    owner, app = role_urls
    async with web_world(tmp_path, running, database_url=owner, tenant_database_url=app) as built:
        yield built


async def test_store_bound_transactions_run_as_the_role_the_policies_bind_R22(
    people: WebWorld, role_urls: tuple[str, str]
) -> None:
    """The web app's store-bound work runs as the non-owner role: a hand-written query
    without a tenant filter sees one store's people; the owner's `Directory` sees all."""
    role = role_urls[1].partition("://")[2].partition("@")[0]
    db = people.services.db
    contoso, fabrikam = people.stores["contoso"].tenant, people.stores["fabrikam"].tenant
    for tenant, emails in (
        (contoso, ["alice@contoso.example", "bob@contoso.example"]),
        (fabrikam, ["erin@fabrikam.example"]),
    ):
        async with db.transaction(tenant.id) as session:
            assert (await session.execute(text("SELECT current_user"))).scalar() == role
            seen = await session.execute(text("SELECT email FROM app_user ORDER BY email"))
            assert list(seen.scalars()) == emails
        async with db.connection(tenant.id, write=False) as conn:
            seen = await conn.execute(text("SELECT DISTINCT tenant_id FROM app_user"))
            assert list(seen.scalars()) == [tenant.id]
    assert len(await people.services.directory.users()) == 3
    async with db.transaction() as session:
        assert (await session.execute(text("SELECT current_user"))).scalar() != role
