"""The emulator's own certificate authority and TLS server certificate.

MSAL Python refuses an authority that is not `https` (reference/graph.md §9), so the
identity and Graph endpoints are served over TLS with a server certificate (IP SAN
127.0.0.1, DNS localhost) issued by a CA the emulator generates with cryptography into
its data dir. Clients trust `ca.pem` (MSAL: `verify=` or an `http_client` whose session
verifies against it; httpx: `verify=ssl.create_default_context(cafile=…)`).
Files are created once and reused, so a restarted demo keeps the CA its clients trust;
given the emulator's `Persistence`, the PEMs are also kept in its SQLite state (issue 4:
"all state … lives in SQLite") and the files are rewritten from there when missing.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from m365emu.persistence import Persistence

_KIND = "tls"
_NAMES = ("ca.pem", "ca.key", "server.pem", "server.key")


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    server_cert: Path
    server_key: Path


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def ensure_tls_files(directory: Path, persistence: Persistence | None = None) -> TlsFiles:
    """The CA and server certificate under `directory`: from the files, else from the
    persisted PEMs, else freshly generated (and persisted)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    stored = persistence.load_all(_KIND).get("pems") if persistence else None
    if not all((directory / name).exists() for name in _NAMES):
        if stored is not None:
            for name in _NAMES:
                (directory / name).write_text(stored[name])
            for name in ("ca.key", "server.key"):
                (directory / name).chmod(0o600)
        else:
            _generate(directory, files)
    if persistence is not None and stored is None:
        persistence.save(_KIND, "pems", {n: (directory / n).read_text() for n in _NAMES})
    return files


def _generate(directory: Path, files: TlsFiles) -> None:
    now = datetime.now(UTC) - timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "m365emu"),
            x509.NameAttribute(NameOID.COMMON_NAME, "m365emu local CA"),
        ]
    )
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        # Under 398 days: browsers refuse longer-lived server certificates.
        .not_valid_after(now + timedelta(days=397))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files.server_key.write_bytes(_pem_key(server_key))
    files.server_key.chmod(0o600)
    files.server_cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    (directory / "ca.key").write_bytes(_pem_key(ca_key))
    (directory / "ca.key").chmod(0o600)
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
