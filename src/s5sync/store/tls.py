"""TLS to PostgreSQL, written once in libpq's words for both drivers (issue 22; R22).

A PostgreSQL URL says how to protect its connection the way every PostgreSQL tool
understands: `?sslmode=verify-full&sslrootcert=/path/ca.pem` (Azure Database for
PostgreSQL, the psql line an operator already has). The two drivers s5sync uses read it
differently:

- psycopg (migrations, procrastinate's job queue) is libpq: it takes the URL as it is.
  `libpq_url` only adds what `S5SYNC_DATABASE_CA` says — `sslrootcert` and, when no mode
  is named, `sslmode=verify-full` — and `sslrootcert=system` (libpq ≥ 16; psycopg's wheel
  carries libpq 18) when a verifying mode names no CA;
- asyncpg (every query of the web app and the workers) refuses `sslmode` as an argument
  (`connect() got an unexpected keyword argument 'sslmode'`) and has no `sslrootcert`:
  `asyncpg_connect` takes both out of the URL and hands asyncpg an `ssl.SSLContext`
  that verifies the chain against that CA (or the system's trust store) and, for
  `verify-full`, the host name; the other modes pass through as asyncpg's own strings.

With neither a mode nor a CA, nothing changes: the driver's default (asyncpg and libpq
both `prefer`).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

TLS_KEYS = ("sslmode", "sslrootcert")
VERIFYING = frozenset({"verify-ca", "verify-full"})


def _mode_and_root(url: str, ca: Path | None) -> tuple[str | None, str | None]:
    query = make_url(url).query
    mode = query.get("sslmode")
    root = query.get("sslrootcert")
    mode = mode if isinstance(mode, str) else None
    root = root if isinstance(root, str) else (str(ca) if ca is not None else None)
    if mode is None and ca is not None:
        mode = "verify-full"  # naming a CA means: check the server against it
    return mode, root


def libpq_url(url: str, ca: Path | None = None) -> str:
    """`url` for psycopg/libpq, with the CA setting written into it."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgres"):
        return url
    mode, root = _mode_and_root(url, ca)
    if mode is None:
        return url
    extra = {"sslmode": mode}
    if root is not None:
        extra["sslrootcert"] = root
    elif mode in VERIFYING:
        extra["sslrootcert"] = "system"
    parsed = parsed.difference_update_query(TLS_KEYS).update_query_dict(extra)
    return parsed.render_as_string(hide_password=False)


def asyncpg_connect(url: str, ca: Path | None = None) -> tuple[str, dict[str, Any]]:
    """`url` without libpq's TLS words, and the `connect_args` that say them to asyncpg."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgres"):
        return url, {}
    mode, root = _mode_and_root(url, ca)
    bare = parsed.difference_update_query(TLS_KEYS).render_as_string(hide_password=False)
    if mode is None:
        return bare, {}
    # libpq: `require` with a root certificate verifies the chain, like verify-ca.
    if mode in VERIFYING or (mode == "require" and root is not None):
        context = ssl.create_default_context(
            cafile=root if root is not None and root != "system" else None
        )
        context.check_hostname = mode == "verify-full"
        return bare, {"ssl": context}
    return bare, {"ssl": mode}  # disable, allow, prefer, require: asyncpg's own
