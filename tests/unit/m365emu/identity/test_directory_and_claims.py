"""The directory's write-through persistence, scope parsing, and the Graph token
verifier's refusals (issue 4: persistence; tokens a resource server can trust)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from m365emu.clock import EmulatorClock
from m365emu.identity.claims import (
    GRAPH_APP_ID,
    GRAPH_URL,
    GraphTokenVerifier,
    ScopeRequest,
    UnknownResource,
    app_access_claims,
    delegated_access_claims,
)
from m365emu.identity.keys import KeySet
from m365emu.identity.models import AppRegistration, Directory, DirectoryError
from m365emu.persistence import Persistence
from m365emu.tokens import TokenRejected

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_directory_state_survives_a_reopen_of_its_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = Persistence(path)
    directory = Directory(store)
    directory.add_tenant("t1", "contoso")
    alice = directory.add_user("t1", "Alice@Contoso.example", "Alice Martin")
    directory.add_app("t1", "app-1", "secret", ["http://127.0.0.1/cb"], "s5sync")
    directory.grant_consent(alice, "app-1", ["Calendars.ReadWrite"])
    token = directory.issue_refresh_token(alice, "app-1", ["Calendars.ReadWrite"], NOW)
    directory.revoke(alice, NOW)
    newer = directory.issue_refresh_token(alice, "app-1", ["Calendars.ReadWrite"], NOW)
    store.close()

    reopened = Directory(Persistence(path))
    again = reopened.user_by_email("alice@contoso.example")
    assert again is not None
    assert again.id == alice.id
    assert again.token_generation == 1
    assert reopened.app("app-1") is not None
    assert reopened.consented(again, "app-1") == {"Calendars.ReadWrite"}
    with pytest.raises(DirectoryError) as refused:
        reopened.use_refresh_token(token, "app-1", NOW)
    assert refused.value.code == "revoked"
    assert reopened.use_refresh_token(newer, "app-1", NOW).user_id == alice.id


def test_emails_are_unique_across_tenants_and_aliases_are_not_tenants() -> None:
    directory = Directory(Persistence())
    directory.add_tenant("t1", "contoso")
    directory.add_tenant("t2", "fabrikam")
    directory.add_user("t1", "sam@example.org", "Sam")
    with pytest.raises(DirectoryError, match="already exists"):
        directory.add_user("t2", "SAM@example.org", "Sam again")
    with pytest.raises(DirectoryError):
        directory.add_tenant("organizations", "x")
    assert directory.tenant("CONTOSO") is directory.tenants["t1"]


def test_refresh_token_of_another_app_is_unknown() -> None:
    directory = Directory(Persistence())
    directory.add_tenant("t1", "contoso")
    user = directory.add_user("t1", "a@contoso.example", "A")
    token = directory.issue_refresh_token(user, "app-1", [], NOW)
    with pytest.raises(DirectoryError) as refused:
        directory.use_refresh_token(token, "app-2", NOW)
    assert refused.value.code == "invalid"


@pytest.mark.parametrize(
    ("raw", "graph", "audience", "default"),
    [
        ("openid profile offline_access User.Read", ["User.Read"], GRAPH_APP_ID, False),
        (
            "https://graph.microsoft.com/Calendars.ReadWrite openid",
            ["Calendars.ReadWrite"],
            GRAPH_URL,
            False,
        ),
        ("https://graph.microsoft.com/.default", [], GRAPH_URL, True),
        (f"{GRAPH_APP_ID}/Mail.Read", ["Mail.Read"], GRAPH_APP_ID, False),
    ],
)
def test_scopes_name_graph_by_short_name_url_or_app_id(
    raw: str, graph: list[str], audience: str, default: bool
) -> None:
    parsed = ScopeRequest.parse(raw)
    assert parsed.graph == graph
    assert parsed.audience == audience
    assert parsed.default is default


def test_a_scope_of_another_resource_is_refused() -> None:
    with pytest.raises(UnknownResource):
        ScopeRequest.parse("api://other-api/read")


@pytest.fixture
def signer() -> tuple[KeySet, EmulatorClock, Directory]:
    store = Persistence()
    directory = Directory(store)
    directory.add_tenant("t1", "contoso")
    directory.add_user("t1", "a@contoso.example", "Ann Example")
    clock = EmulatorClock()
    clock.set(NOW)
    return KeySet(store), clock, directory


def _claims(directory: Directory, **override: Any) -> dict[str, Any]:
    user = directory.user_by_email("a@contoso.example")
    assert user is not None
    app = AppRegistration("t1", "app-1", "s5sync", "secret")
    claims = delegated_access_claims(user, app, ["Calendars.ReadWrite"], GRAPH_APP_ID, NOW)
    claims.update(override)
    return claims


def test_verifier_accepts_its_own_token_and_names_the_user(
    signer: tuple[KeySet, EmulatorClock, Directory],
) -> None:
    keys, clock, directory = signer
    verified = GraphTokenVerifier(keys, clock, directory).verify(keys.sign(_claims(directory)))
    assert verified.preferred_username == "a@contoso.example"
    assert verified.scopes == {"Calendars.ReadWrite"}
    assert verified.tid == "t1"
    assert verified.app_id == "app-1"


@pytest.mark.parametrize(
    ("override", "later", "reason"),
    [
        ({"aud": "api://someone-else"}, timedelta(0), "audience"),
        ({"iss": "https://sts.windows.net/other/"}, timedelta(0), "issuer"),
        ({"tid": "unknown", "iss": "https://sts.windows.net/unknown/"}, timedelta(0), "issuer"),
        ({}, timedelta(hours=2), "expired"),
        ({}, timedelta(minutes=-10), "expired"),
    ],
)
def test_verifier_refuses_wrong_audience_issuer_or_lifetime_on_the_emulator_clock(
    signer: tuple[KeySet, EmulatorClock, Directory],
    override: dict[str, Any],
    later: timedelta,
    reason: str,
) -> None:
    keys, clock, directory = signer
    token = keys.sign(_claims(directory, **override))
    clock.set(NOW + later)
    with pytest.raises(TokenRejected, match=reason):
        GraphTokenVerifier(keys, clock, directory).verify(token)


def test_verifier_refuses_a_token_signed_by_another_key_or_unsigned(
    signer: tuple[KeySet, EmulatorClock, Directory],
) -> None:
    keys, clock, directory = signer
    verifier = GraphTokenVerifier(keys, clock, directory)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        _claims(directory), other, algorithm="RS256", headers={"kid": keys.active.kid}
    )
    with pytest.raises(TokenRejected):
        verifier.verify(forged)
    unsigned = jwt.encode(_claims(directory), "", algorithm="none")
    with pytest.raises(TokenRejected):
        verifier.verify(unsigned)
    with pytest.raises(TokenRejected, match="empty"):
        verifier.verify("")
    with pytest.raises(TokenRejected):
        verifier.verify("not.a.jwt")


def test_app_only_token_gives_roles_as_scopes(
    signer: tuple[KeySet, EmulatorClock, Directory],
) -> None:
    keys, clock, directory = signer
    app = AppRegistration("t1", "app-1", "daemon", "secret", app_roles=["Calendars.ReadWrite"])
    token = keys.sign(app_access_claims(app, "t1", GRAPH_URL, NOW))
    verified = GraphTokenVerifier(keys, clock, directory).verify(token)
    assert verified.scopes == {"Calendars.ReadWrite"}
    assert verified.preferred_username == ""


def test_signing_key_is_kept_in_persistence(tmp_path: Path) -> None:
    store = Persistence(tmp_path / "s.sqlite3")
    first = KeySet(store).active.kid
    assert KeySet(store).active.kid == first
