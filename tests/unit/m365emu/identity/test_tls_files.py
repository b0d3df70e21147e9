"""The emulator's CA and TLS server certificate (issue 4: identity over TLS)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509

from m365emu.persistence import Persistence
from m365emu.tls import ensure_tls_files


def test_server_certificate_names_127_0_0_1_and_localhost_and_is_signed_by_the_ca(
    tmp_path: Path,
) -> None:
    files = ensure_tls_files(tmp_path)
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    server = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    server.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_files_are_reused_on_the_next_start(tmp_path: Path) -> None:
    first = ensure_tls_files(tmp_path).ca_cert.read_bytes()
    assert ensure_tls_files(tmp_path).ca_cert.read_bytes() == first


def test_ca_is_kept_in_the_sqlite_state_and_rewritten_when_the_files_are_lost(
    tmp_path: Path,
) -> None:
    store = Persistence(tmp_path / "state.sqlite3")
    first = ensure_tls_files(tmp_path / "tls", store).ca_cert.read_bytes()
    for pem in (tmp_path / "tls").iterdir():
        pem.unlink()
    assert ensure_tls_files(tmp_path / "tls", store).ca_cert.read_bytes() == first
