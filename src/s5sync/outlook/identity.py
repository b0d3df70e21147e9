"""Sign-in and token acquisition with MSAL Python (R19, R19b, R22).

`MsalIdentity` is built once per process. It holds a pool of
`ConfidentialClientApplication`s (built lazily in a worker thread: the first build
fetches the authority's OpenID configuration, which later builds find in a copy of its
`http_cache`), and its own `requests.Session` with `trust_env = False` and
`verify = <CA bundle>` — requests lets `REQUESTS_CA_BUNDLE` override `Session.verify`
otherwise (graph.md §9 trap). MSAL is blocking: every call runs in a worker thread, so
the event loop (which may also serve the emulator in the one-process demo) never waits.

Each user has their own serialized MSAL cache, stored encrypted by the caller
(store `TokenCacheRows`, MultiFernet). A call takes an idle application from a pool
(or builds one: 0.2 ms once the first build's `http_cache` holds the authority's
configuration), loads the user's cache into that application's own
`SerializableTokenCache` for the duration of the call and empties it after: MSAL binds
the cache's methods when the application is built, so the cache object itself cannot be
swapped. Calls of different users therefore run in parallel — one user's refresh waiting
on the identity platform never holds up another's (issue 12: a worker refreshes about
one user in six every cycle) — and the pool never holds more applications than calls
ran at once (anyio's worker threads bound it). A call returns the new serialized cache
only when MSAL changed it (`has_state_changed`), so unchanged caches are never rewritten.

The auth-code flow is MSAL's (`initiate_auth_code_flow` / `acquire_token_by_auth_code_flow`):
PKCE, state and nonce are MSAL's; the answer comes back as a `form_post`. The flow dict
holds the PKCE verifier, so the caller keeps it server-side (encrypted), keyed by state.

Scopes: MSAL adds `openid profile offline_access` itself and refuses them as arguments,
so `SCOPES` lists the resource scopes of R19.
"""

from __future__ import annotations

import copy
import json
import logging
import queue
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import msal
import requests

from s5sync.outlook.errors import IdentityUnavailable, NeedsSignIn, SignInFailed

SCOPES = ("User.Read", "Calendars.ReadWrite", "MailboxSettings.ReadWrite")
# R19b: answers meaning only the user can fix it by signing in again.
SIGN_IN_AGAIN = frozenset(
    {"invalid_grant", "interaction_required", "login_required", "consent_required"}
)


@dataclass(frozen=True)
class CertificateCredential:
    """A certificate registered on the Entra application (instead of a client secret)."""

    private_key_pem: str = field(repr=False)  # R22: never printed
    thumbprint: str  # SHA-1, hex
    public_certificate: str | None = None  # sent as x5c (subject name/issuer auth)

    def as_msal(self) -> dict[str, str]:
        credential = {"private_key": self.private_key_pem, "thumbprint": self.thumbprint}
        if self.public_certificate:
            credential["public_certificate"] = self.public_certificate
        return credential


@dataclass(frozen=True)
class IdentityConfig:
    client_id: str
    credential: str | CertificateCredential  # a client secret, or a certificate
    authority: str  # https://login.microsoftonline.com/<tenant>, or the emulator's
    ca_bundle: Path | None = None  # trust this CA (the emulator's) instead of the system's
    scopes: tuple[str, ...] = SCOPES
    timeout: float = 30.0

    def __repr__(self) -> str:  # R22: never print the credential
        return f"IdentityConfig(client_id={self.client_id!r}, authority={self.authority!r})"


@dataclass(frozen=True)
class SignedIn:
    """Who signed in, and their new MSAL cache to store encrypted."""

    object_id: str
    tenant_id: str
    username: str
    name: str
    token_cache: str
    scopes: frozenset[str] = frozenset()  # as granted by the authority (R19)

    def __repr__(self) -> str:
        return f"SignedIn(object_id={self.object_id!r}, tenant_id={self.tenant_id!r})"


@dataclass(frozen=True)
class Acquired:
    """An access token and, when MSAL changed it, the user's new serialized cache."""

    access_token: str
    expires_in: float
    token_cache: str | None

    def __repr__(self) -> str:
        changed = self.token_cache is not None
        return f"Acquired(expires_in={self.expires_in!r}, cache_changed={changed})"


class _RedactMsalEvents(logging.Filter):
    """MSAL's DEBUG dump of each token event masks tokens and the client secret but not
    the authorization code nor the PKCE verifier; mask those too (R22)."""

    HIDDEN = ("code", "code_verifier")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "event=%s" and isinstance(record.args, tuple) and record.args:
            try:
                event = json.loads(str(record.args[0]))
            except ValueError:
                record.args = ("(unreadable MSAL event withheld)",)
                return True
            data = event.get("data") if isinstance(event, dict) else None
            if isinstance(data, dict):
                for key in self.HIDDEN:
                    if key in data:
                        data[key] = "********"
            record.args = (json.dumps(event, indent=4, sort_keys=True, default=str),)
        return True


def _redact_msal_logs() -> None:
    cache_logger = logging.getLogger("msal.token_cache")
    if not any(isinstance(f, _RedactMsalEvents) for f in cache_logger.filters):
        cache_logger.addFilter(_RedactMsalEvents())


class _TimeoutSession(requests.Session):
    """MSAL passes no timeout; a hung authority must not hold a worker thread forever."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return super().request(*args, **kwargs)


class _Application:
    """One MSAL application and the cache it was built with (one call at a time)."""

    def __init__(self, app: msal.ConfidentialClientApplication, cache: Any) -> None:
        self.app = app
        self.cache = cache


class MsalIdentity:
    """The process's MSAL applications; per-user caches are passed in and out."""

    def __init__(self, config: IdentityConfig, *, http_client: Any = None) -> None:
        """`http_client` replaces MSAL's HTTP (anything with requests' `get`/`post`)."""
        self.config = config
        _redact_msal_logs()
        # Each application gets its own `http_cache` (MSAL's lock guarding one is per
        # application): a deep copy of the first's, which holds the discovery answers.
        self._http_cache_seed: dict[Any, Any] | None = None
        if http_client is None:
            http_client = _TimeoutSession(config.timeout)
            http_client.trust_env = False  # graph.md §9: env CA bundles override verify
            http_client.verify = str(config.ca_bundle) if config.ca_bundle else True
        self.http_client = http_client
        self._owns_http = isinstance(http_client, _TimeoutSession)
        self._idle: queue.LifoQueue[_Application] = queue.LifoQueue()
        self._building = threading.Lock()  # the first build fetches the configuration once
        self.built = 0  # applications built so far (the pool's size)

    @contextmanager
    def _application(self) -> Iterator[_Application]:
        """An application to itself for one call, its cache empty before and after."""
        try:
            held = self._idle.get_nowait()
        except queue.Empty:
            held = self._build()
        try:
            yield held
        finally:
            held.cache.deserialize("")
            self._idle.put(held)

    def _build(self) -> _Application:
        with self._building:
            credential = self.config.credential
            cache = msal.SerializableTokenCache()
            seed = self._http_cache_seed
            http_cache: dict[Any, Any] = copy.deepcopy(seed) if seed is not None else {}
            try:
                app = msal.ConfidentialClientApplication(
                    self.config.client_id,
                    client_credential=credential.as_msal()
                    if isinstance(credential, CertificateCredential)
                    else credential,
                    authority=self.config.authority,
                    instance_discovery=False,
                    token_cache=cache,
                    http_client=self.http_client,
                    http_cache=http_cache,
                )
            except (requests.RequestException, ValueError) as error:
                raise IdentityUnavailable(
                    f"the Microsoft identity platform at {self.config.authority} could not be "
                    f"reached or configured: {type(error).__name__}"
                ) from None
            if seed is None:
                self._http_cache_seed = copy.deepcopy(http_cache)
            self.built += 1
            return _Application(app, cache)

    def close(self) -> None:
        if self._owns_http:
            self.http_client.close()

    # -- sign-in (R19) ---------------------------------------------------------------

    async def begin_sign_in(
        self, redirect_uri: str, *, login_hint: str | None = None
    ) -> dict[str, Any]:
        """The auth-code flow to keep server-side; redirect the browser to `auth_uri`."""

        def run() -> dict[str, Any]:
            with self._application() as held:
                flow: dict[str, Any] = held.app.initiate_auth_code_flow(
                    list(self.config.scopes),
                    redirect_uri=redirect_uri,
                    response_mode="form_post",
                    login_hint=login_hint,
                )
                return flow

        return await anyio.to_thread.run_sync(run)

    async def complete_sign_in(
        self, flow: Mapping[str, Any], response: Mapping[str, str]
    ) -> SignedIn:
        """Redeem the code MSAL's flow expects (state, PKCE and nonce are checked by MSAL)."""

        def run() -> SignedIn:
            with self._application() as held:
                try:
                    result = held.app.acquire_token_by_auth_code_flow(dict(flow), dict(response))
                except (ValueError, RuntimeError) as error:
                    raise SignInFailed(f"the sign-in answer was refused: {error}") from None
                except requests.RequestException as error:
                    raise _unreachable(error) from None
                if "error" in result:
                    described = str(result.get("error_description") or "").splitlines()
                    raise SignInFailed(
                        f"Microsoft refused the sign-in: {result.get('error')}"
                        + (f": {described[0]}" if described else "")
                    )
                claims = result.get("id_token_claims") or {}
                return SignedIn(
                    object_id=str(claims.get("oid") or claims.get("sub") or ""),
                    tenant_id=str(claims.get("tid") or ""),
                    username=str(claims.get("preferred_username") or ""),
                    name=str(claims.get("name") or ""),
                    token_cache=held.cache.serialize(),
                    scopes=frozenset(str(result.get("scope") or "").split()),
                )

        return await anyio.to_thread.run_sync(run)

    # -- silent acquisition (R19b) ---------------------------------------------------

    async def acquire(
        self, token_cache: str | None, *, object_id: str | None = None, force_refresh: bool = False
    ) -> Acquired:
        """An access token from the user's cache, refreshed when needed (or forced)."""

        def run() -> Acquired:
            with self._application() as held:
                held.cache.deserialize(token_cache or "")
                return self._silent(held, object_id, force_refresh)

        return await anyio.to_thread.run_sync(run)

    def _silent(self, held: _Application, object_id: str | None, force: bool) -> Acquired:
        app = held.app
        accounts = app.get_accounts()
        if object_id:
            accounts = [a for a in accounts if a.get("local_account_id") == object_id] or accounts
        if not accounts:
            raise NeedsSignIn("no signed-in account is cached")
        try:
            result = app.acquire_token_silent_with_error(
                list(self.config.scopes), account=accounts[0], force_refresh=force
            )
        except requests.RequestException as error:
            raise _unreachable(error) from None
        if result is None:
            raise NeedsSignIn("the cached sign-in has no usable refresh token")
        if "access_token" not in result:
            code = str(result.get("error", "unknown_error"))
            if code in SIGN_IN_AGAIN or result.get("suberror") in ("bad_token", "token_expired"):
                raise NeedsSignIn(code)
            raise IdentityUnavailable(f"the Microsoft identity platform answered {code}")
        changed = held.cache.has_state_changed
        return Acquired(
            access_token=str(result["access_token"]),
            expires_in=float(result.get("expires_in") or 0),
            token_cache=held.cache.serialize() if changed else None,
        )


def _unreachable(error: Exception) -> IdentityUnavailable:
    return IdentityUnavailable(
        f"the Microsoft identity platform could not be reached: {type(error).__name__}"
    )
