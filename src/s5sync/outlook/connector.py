"""What the composition root builds once per process for Outlook (DESIGN.md "Outlook
connector"; STYLE.md habit 8), and what it hands each user's cycle.

    connector = OutlookConnector.from_settings(settings)          # once, at start-up
    tokens = connector.tokens_for(scope, user.id, user.object_id)  # per user, per cycle
    calendar = connector.calendar_for(user.id, tokens, deadline=…) # per user, per cycle
    …calendar.counter.total → sync_run; connector.requests → /metrics
    await connector.aclose()

One `MsalIdentity` (one MSAL application, shared `http_cache`) and one `httpx.AsyncClient`
(connection pool, the emulator's CA when configured, no environment proxies or CA
overrides) serve every user. Each mailbox keeps its 4 slots across cycles, so two cycles
of one user never exceed Outlook's concurrency limit together (R23b).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

import httpx

from s5sync.outlook.graph import GraphCalendar
from s5sync.outlook.identity import IdentityConfig, MsalIdentity
from s5sync.outlook.metering import MailboxSlots, RequestCounter
from s5sync.outlook.session import AccessTokens, GraphSession, Pacing, RetryPolicy
from s5sync.outlook.tokens import StoredTokenCache, UserTokens
from s5sync.settings import Settings
from s5sync.store.scope import TenantScope


class ProcessCounter(RequestCounter):
    """Every Graph request of the process, for `/metrics` (Prometheus text)."""

    def absorb(self, cycle: RequestCounter) -> None:
        self.by_key.update(cycle.by_key)
        self.batch_items.update(cycle.batch_items)

    def prometheus(self, name: str = "s5sync_graph_requests_total") -> str:
        lines = [f"# TYPE {name} counter"]
        for (method, route, status), n in sorted(self.by_key.items()):
            lines.append(f'{name}{{method="{method}",route="{route}",status="{status}"}} {n}')
        return "\n".join(lines) + "\n"


@dataclass
class OutlookConnector:
    identity: MsalIdentity
    http: httpx.AsyncClient
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    pacing: Pacing = field(default_factory=Pacing)
    page_size: int = 100
    requests: ProcessCounter = field(default_factory=ProcessCounter)
    _slots: dict[int, MailboxSlots] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> OutlookConnector:
        identity = MsalIdentity(
            IdentityConfig(
                client_id=settings.client_id,
                credential=settings.client_secret.get_secret_value(),
                authority=settings.authority,
                ca_bundle=settings.ca_bundle,
            )
        )
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=str(settings.ca_bundle))
            if settings.ca_bundle
            else True
        )
        http = httpx.AsyncClient(
            base_url=settings.graph_base_url,
            verify=verify,
            trust_env=False,  # graph.md §9: environment CA bundles must not override ours
            timeout=httpx.Timeout(30.0),
        )
        return cls(identity, http)

    def tokens_for(self, scope: TenantScope, user_id: int, object_id: str | None) -> UserTokens:
        """The user's token provider, reading and writing their encrypted cache (R22)."""
        return UserTokens(self.identity, StoredTokenCache(scope, user_id), object_id=object_id)

    def calendar_for(
        self, user_id: int, tokens: AccessTokens, *, deadline: float | None = None
    ) -> GraphCalendar:
        """One user's calendar for one cycle, counting into a fresh counter."""
        slots = self._slots.setdefault(user_id, MailboxSlots())
        session = GraphSession(
            self.http,
            tokens,
            counter=RequestCounter(),
            slots=slots,
            policy=self.policy,
            pacing=self.pacing,
            deadline=deadline,
        )
        return GraphCalendar(session, page_size=self.page_size)

    def finish_cycle(self, calendar: GraphCalendar) -> int:
        """Add a cycle's requests to the process total; returns the cycle's count."""
        self.requests.absorb(calendar.counter)
        return calendar.counter.total

    async def aclose(self) -> None:
        await self.http.aclose()
        self.identity.close()
