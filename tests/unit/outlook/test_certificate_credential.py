"""R19: the Entra application may prove itself with a certificate instead of a secret.
MSAL signs a client assertion with our key; the authority (a recorded fake HTTP client,
since the emulator does not take assertions) receives a JWT signed by the certificate's
key, carrying its thumbprint, and no secret."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from s5sync.outlook.identity import CertificateCredential, IdentityConfig, MsalIdentity
from support.recorded_authority import AUTHORITY, Answer, discovery, tokens


class Authority:
    """Answers MSAL's discovery and token calls, recording what it was sent."""

    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []
        self.nonce = ""

    def get(self, url: str, params: Any = None, headers: Any = None, **_: Any) -> Answer:
        return discovery()

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **_: Any
    ) -> Answer:
        self.posted.append(dict(data or {}))
        return tokens("1", self.nonce, "at-1", name="Alice")


def certificate() -> tuple[str, str, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "s5sync")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, cert.fingerprint(hashes.SHA1()).hex(), key  # noqa: S303 - Entra's x5t is SHA-1


async def test_a_certificate_credential_signs_the_token_request_R19() -> None:
    pem, thumbprint, key = certificate()
    authority = Authority()
    identity = MsalIdentity(
        IdentityConfig("client-1", CertificateCredential(pem, thumbprint), AUTHORITY),
        http_client=authority,
    )
    flow = await identity.begin_sign_in("http://127.0.0.1:8000/auth/callback")
    query = parse_qs(urlsplit(flow["auth_uri"]).query)
    authority.nonce = query["nonce"][0]
    signed = await identity.complete_sign_in(flow, {"code": "code-1", "state": query["state"][0]})
    assert signed.object_id == "oid-1"
    (sent,) = authority.posted
    assert "client_secret" not in sent
    assert sent["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assertion = sent["client_assertion"]
    header = jwt.get_unverified_header(assertion)
    expected_x5t = base64.urlsafe_b64encode(bytes.fromhex(thumbprint)).decode().rstrip("=")
    assert header["x5t"].rstrip("=") == expected_x5t
    claims = jwt.decode(
        assertion,
        key.public_key(),
        algorithms=[header["alg"]],
        audience=f"{AUTHORITY}/oauth2/v2.0/token",
    )
    assert claims["iss"] == claims["sub"] == "client-1"
    identity.close()


def test_credentials_never_show_in_a_repr_R22() -> None:
    pem, thumbprint, _ = certificate()
    shown = repr(IdentityConfig("client-1", CertificateCredential(pem, thumbprint), AUTHORITY))
    shown += repr(CertificateCredential(pem, thumbprint))
    shown += repr(IdentityConfig("client-1", "canary-secret-42", AUTHORITY))
    assert "PRIVATE KEY" not in shown
    assert "canary-secret-42" not in shown
