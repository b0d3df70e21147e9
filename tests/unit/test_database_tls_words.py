"""libpq's TLS words said to psycopg and to asyncpg (issue 22; R22; store/tls.py)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from s5sync.store.tls import asyncpg_connect, libpq_url

URL = "postgresql://u@db.example:5432/ce"


@pytest.mark.parametrize(
    ("url", "ca", "expected"),
    [
        (URL, None, URL),  # nothing said: nothing changes
        (URL, Path("/ca.pem"), URL + "?sslmode=verify-full&sslrootcert=%2Fca.pem"),
        (URL + "?sslmode=require", Path("/ca.pem"), URL + "?sslmode=require&sslrootcert=%2Fca.pem"),
        (URL + "?sslmode=verify-full", None, URL + "?sslmode=verify-full&sslrootcert=system"),
        ("sqlite:///x.db", Path("/ca.pem"), "sqlite:///x.db"),
    ],
)
def test_libpq_url_writes_the_ca_setting_in_R22(url: str, ca: Path | None, expected: str) -> None:
    assert libpq_url(url, ca) == expected


def test_asyncpg_gets_a_verifying_context_and_no_libpq_words_R22() -> None:
    bare, args = asyncpg_connect(URL + "?sslmode=verify-full&application_name=s5")
    assert bare == URL + "?application_name=s5"
    context = args["ssl"]
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED
    _, ca_only = asyncpg_connect(URL + "?sslmode=verify-ca")
    assert ca_only["ssl"].check_hostname is False
    assert ca_only["ssl"].verify_mode == ssl.CERT_REQUIRED
    assert asyncpg_connect(URL + "?sslmode=require") == (URL, {"ssl": "require"})
    assert asyncpg_connect(URL + "?sslmode=disable") == (URL, {"ssl": "disable"})
    assert asyncpg_connect(URL) == (URL, {})
