"""A certificate instead of a client secret (issue 8): settings build MSAL's certificate
credential, and `serve` names what is missing in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from s5sync.entrypoints.bootstrap import build_services
from s5sync.outlook.identity import CertificateCredential
from s5sync.settings import Settings, SettingsError, require_for_serve
from s5sync.store.secrets import SecretBox


def settings(tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path}/ce.db",
        secret_keys=SecretBox.generate_key(),
        session_secret="s" * 40,
        client_id="app",
        redirect_uri="https://sync.example/auth/callback",
        **extra,
    )


async def test_a_certificate_stands_in_for_the_client_secret(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n")
    configured = settings(tmp_path, client_certificate=key, client_certificate_thumbprint="ab12")
    require_for_serve(configured)  # no secret needed
    services = build_services(configured)
    try:
        credential = services.identity().config.credential
        assert isinstance(credential, CertificateCredential)
        assert credential.thumbprint == "ab12"
        assert "BEGIN PRIVATE KEY" in credential.private_key_pem
        assert "BEGIN" not in repr(services.identity().config)
    finally:
        await services.aclose()


def test_a_certificate_without_its_thumbprint_is_named_in_one_line(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("x")
    with pytest.raises(SettingsError, match=r"^S5SYNC_CLIENT_CERTIFICATE_THUMBPRINT is not set"):
        require_for_serve(settings(tmp_path, client_certificate=key))


def test_a_missing_certificate_file_is_named_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^S5SYNC_CLIENT_CERTIFICATE is invalid: no file"):
        require_for_serve(
            settings(
                tmp_path,
                client_certificate=tmp_path / "none.pem",
                client_certificate_thumbprint="ab",
            )
        )


def test_without_secret_or_certificate_serve_names_the_secret(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^S5SYNC_CLIENT_SECRET is not set"):
        require_for_serve(settings(tmp_path))
