"""Who may read /healthz and /metrics (issue 22; `entrypoints.web.probes`), as a table."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from s5sync.entrypoints.web.probes import ProbeAccess
from s5sync.settings import SettingsError, load_settings
from s5sync.store.secrets import SecretBox

TOKEN = "x" * 32
NETS = (ip_network("10.0.0.0/8"), ip_network("fd00::/8"))


@pytest.mark.parametrize(
    ("access", "client", "authorization", "allowed"),
    [
        (ProbeAccess(), "203.0.113.9", None, True),  # nothing set: open (the demo)
        (ProbeAccess(NETS), "10.9.8.7", None, True),
        (ProbeAccess(NETS), "fd00::1", None, True),
        (ProbeAccess(NETS), "203.0.113.9", None, False),
        (ProbeAccess(NETS), None, None, False),
        (ProbeAccess(NETS), "testclient", None, False),  # not an address
        (ProbeAccess(token=TOKEN), "203.0.113.9", f"Bearer {TOKEN}", True),
        (ProbeAccess(token=TOKEN), "203.0.113.9", f"bearer {TOKEN}", True),
        (ProbeAccess(token=TOKEN), "203.0.113.9", f"Basic {TOKEN}", False),
        (ProbeAccess(token=TOKEN), "203.0.113.9", "Bearer " + "y" * 32, False),
        (ProbeAccess(token=TOKEN), "203.0.113.9", None, False),
        (ProbeAccess(NETS, TOKEN), "10.0.0.1", None, True),  # either opens
        (ProbeAccess(NETS, TOKEN), "203.0.113.9", f"Bearer {TOKEN}", True),
        (ProbeAccess(NETS, TOKEN), "203.0.113.9", "Bearer nope", False),
    ],
)
def test_probe_access_allows_a_network_or_the_token(
    access: ProbeAccess, client: str | None, authorization: str | None, allowed: bool
) -> None:
    assert access.allows(client, authorization) is allowed


def test_metrics_allow_names_a_bad_network_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S5SYNC_DATABASE_URL", "sqlite:///x.db")
    monkeypatch.setenv("S5SYNC_SECRET_KEYS", SecretBox.generate_key())
    monkeypatch.setenv("S5SYNC_METRICS_ALLOW", "10.0.0.0/8,not-a-net")
    with pytest.raises(SettingsError, match=r"^S5SYNC_METRICS_ALLOW is invalid: 'not-a-net'"):
        load_settings()
    monkeypatch.setenv("S5SYNC_METRICS_ALLOW", "10.0.0.0/8, 192.168.0.1")
    assert [str(n) for n in load_settings().metrics_networks()] == [
        "10.0.0.0/8",
        "192.168.0.1/32",
    ]
