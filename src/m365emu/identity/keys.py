"""The identity platform's signing keys, its JWKS document and RS256 token signing.

Follows learn.microsoft.com "Microsoft identity platform ID tokens / access tokens" and the
JWKS Entra publishes at `/{tenant}/discovery/v2.0/keys`: each key carries `kty`, `use`,
`kid`, `x5t`, `n`, `e`, `x5c` (a self-signed certificate of the key) and `issuer`.
The key pair is generated once with cryptography and kept in the emulator's persistence,
so tokens issued before a restart (even after `kill -9`) still verify.

Not emulated: key rollover (one active key, no `nOo3ZDr…`-style rotation schedule).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from m365emu.persistence import Persistence

_KIND = "signing_key"


def b64url(data: bytes) -> str:
    """Base64url without padding, as JOSE writes it (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


class SigningKey:
    """One RSA key pair with its certificate, kid and x5t."""

    def __init__(self, private_pem: bytes, cert_pem: bytes) -> None:
        loaded = serialization.load_pem_private_key(private_pem, password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise TypeError("the stored signing key is not an RSA key")
        self.private_key: rsa.RSAPrivateKey = loaded
        self.private_pem = private_pem
        self.cert_pem = cert_pem
        cert = x509.load_pem_x509_certificate(cert_pem)
        der = cert.public_bytes(serialization.Encoding.DER)
        # Entra's kid equals x5t: the base64url SHA-1 thumbprint of the certificate.
        self.x5t = b64url(hashlib.sha1(der).digest())  # noqa: S324 - a thumbprint, not security
        self.kid = self.x5t
        self._x5c = base64.b64encode(der).decode("ascii")

    @classmethod
    def generate(cls) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "m365emu token signing")])
        start = datetime.now(UTC) - timedelta(days=1)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cls(private_pem, cert.public_bytes(serialization.Encoding.PEM))

    def jwk(self) -> dict[str, Any]:
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.x5t,
            "n": b64url(_int_bytes(numbers.n)),
            "e": b64url(_int_bytes(numbers.e)),
            "x5c": [self._x5c],
        }


class KeySet:
    """The active signing key, loaded from persistence or created on first start."""

    def __init__(self, persistence: Persistence) -> None:
        stored = persistence.load_all(_KIND).get("active")
        if stored is not None:
            self.active = SigningKey(
                stored["private_pem"].encode("ascii"), stored["cert_pem"].encode("ascii")
            )
        else:
            self.active = SigningKey.generate()
            persistence.save(
                _KIND,
                "active",
                {
                    "private_pem": self.active.private_pem.decode("ascii"),
                    "cert_pem": self.active.cert_pem.decode("ascii"),
                },
            )

    def jwks(self, issuer: str) -> dict[str, Any]:
        return {"keys": [{**self.active.jwk(), "issuer": issuer}]}

    def sign(self, claims: dict[str, Any]) -> str:
        headers = {"typ": "JWT", "kid": self.active.kid, "x5t": self.active.x5t}
        return jwt.encode(claims, self.active.private_key, algorithm="RS256", headers=headers)

    def public_key(self, kid: str) -> rsa.RSAPublicKey | None:
        return self.active.private_key.public_key() if kid == self.active.kid else None
