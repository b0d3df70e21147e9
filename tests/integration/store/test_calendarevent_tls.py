"""TLS to the CALENDAREVENT database (issue 22; R22; store/tls.py): the engine connects
with `sslmode=verify-full` to a PostgreSQL this test starts itself — its own data
directory, port and certificate (m365emu's certificate maker, `cryptography`), never
the shared server — and refuses a server its CA did not sign or whose name does not match.

initdb and postgres refuse to run as root: they run as the `postgres` OS user, in a
temporary directory it owns. The server accepts TLS connections only (`hostssl`), so a
connection that did not verify could not have succeeded in plain text either.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from m365emu.tls import ensure_tls_files
from s5sync.scheduling.distributed import procrastinate_dsn
from s5sync.settings import Settings
from s5sync.store.database import Database
from s5sync.store.migrate import current, upgrade
from s5sync.store.secrets import SecretBox
from s5sync.store.tls import libpq_url

pytestmark = pytest.mark.postgres
BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass
class TlsServer:
    port: int
    ca: Path
    wrong_ca: Path

    def url(self, host: str = "localhost", query: str = "") -> str:
        return f"postgresql://postgres@{host}:{self.port}/postgres{query}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def tls_server() -> Iterator[TlsServer]:
    if not (BIN / "initdb").exists():
        _unavailable(f"needs PostgreSQL 15's initdb at {BIN}")
    try:
        postgres = pwd.getpwnam("postgres")
    except KeyError:
        _unavailable("needs the postgres OS user to run initdb and postgres")
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb and postgres refuse root
        as_postgres = ["runuser", "-u", "postgres", "--"]
    elif os.geteuid() != postgres.pw_uid:
        _unavailable("needs root (runuser) or the postgres user to start a server")
    root = Path(tempfile.mkdtemp(prefix="s5sync-tls-"))
    data = root / "data"
    # The emulator's certificate maker: a CA and a server certificate for localhost and
    # 127.0.0.1 (not 127.0.0.2, the name-mismatch case); a second one is "another CA".
    tls = ensure_tls_files(root / "tls")
    wrong = ensure_tls_files(root / "other")
    os.chmod(root, 0o755)  # noqa: S103 - the postgres user reads the certificate in it
    os.chmod(root / "tls", 0o755)  # noqa: S103 - the same
    if os.geteuid() == 0:
        for path in (root, root / "tls", tls.server_key, tls.server_cert):
            os.chown(path, postgres.pw_uid, postgres.pw_gid)
    subprocess.run(
        [*as_postgres, str(BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    # TLS only: a plain connection is rejected by the server itself.
    (data / "pg_hba.conf").write_text(
        "hostssl all all 127.0.0.0/8 trust\nhost all all 127.0.0.0/8 reject\n"
    )
    port = _free_port()
    server = subprocess.Popen(
        [
            *as_postgres,
            str(BIN / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1,127.0.0.2",
            "-c",
            f"unix_socket_directories={root}",
            "-c",
            "ssl=on",
            "-c",
            f"ssl_cert_file={tls.server_cert}",
            "-c",
            f"ssl_key_file={tls.server_key}",
            "-c",
            "fsync=off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(
            ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)], check=False
        ).returncode:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the test's PostgreSQL did not start")
            time.sleep(0.2)
        yield TlsServer(port, tls.ca_cert, wrong.ca_cert)
    finally:
        server.terminate()  # smart shutdown of the test's own server only
        server.wait(timeout=60)
        shutil.rmtree(root, ignore_errors=True)


async def _encrypted(db: Database) -> bool:
    try:
        async with db.connection() as conn:
            row = (
                await conn.execute(text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))
            ).one()
        return bool(row[0])
    finally:
        await db.dispose()


async def test_calendarevent_engine_connects_with_verify_full_and_the_ca_R22(
    tls_server: TlsServer,
) -> None:
    in_url = tls_server.url(query=f"?sslmode=verify-full&sslrootcert={tls_server.ca}")
    assert await _encrypted(Database(in_url))
    # Or the URL names only the mode and S5SYNC_DATABASE_CA names the CA; or only the CA.
    assert await _encrypted(
        Database(tls_server.url(query="?sslmode=verify-full"), ca=tls_server.ca)
    )
    assert await _encrypted(Database(tls_server.url(), ca=tls_server.ca))


async def test_a_server_the_ca_did_not_sign_or_another_name_is_refused_R22(
    tls_server: TlsServer,
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        await _encrypted(Database(tls_server.url(), ca=tls_server.wrong_ca))
    with pytest.raises(ssl.SSLCertVerificationError, match=r"(?i)hostname|ip address"):
        await _encrypted(Database(tls_server.url(host="127.0.0.2"), ca=tls_server.ca))
    # verify-ca checks the chain only: the same address is then accepted.
    ca_only = tls_server.url(host="127.0.0.2", query="?sslmode=verify-ca")
    assert await _encrypted(Database(ca_only, ca=tls_server.ca))


def test_migrations_and_the_job_queue_use_the_same_tls_through_libpq_R22(
    tls_server: TlsServer,
) -> None:
    """psycopg (Alembic, procrastinate) gets the CA written into its URL."""
    owner = libpq_url(tls_server.url(), tls_server.ca)
    assert "sslmode=verify-full" in owner
    upgrade(owner)
    assert current(owner) is not None
    settings = Settings(
        database_url=tls_server.url(),
        database_ca=tls_server.ca,
        secret_keys=SecretBox.generate_key(),
        scheduler="procrastinate",
    )
    import psycopg

    with psycopg.connect(procrastinate_dsn(settings), connect_timeout=5) as conn:
        row = conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
        assert row == (True,)
    with pytest.raises(psycopg.OperationalError, match=r"(?i)certificate"):
        psycopg.connect(libpq_url(tls_server.url(), tls_server.wrong_ca), connect_timeout=5)
