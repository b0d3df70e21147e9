"""The Outlook connector: MSAL sign-in, encrypted token cache, Graph calendar client.

Modules (DESIGN.md "Outlook connector"; SPEC R3, R5, R8, R16b, R19, R19b, R22, R23, R23b):
- `identity`   `MsalIdentity` (one per process): auth-code sign-in, silent tokens
- `tokens`     `UserTokens` (per user, per cycle) over `StoredTokenCache` (encrypted)
- `session`    `GraphSession`: auth, Prefer headers, retries, Retry-After, slots, counting
- `batch`      `$batch` of 20 with per-item retries
- `graph`      `GraphCalendar`, the `CalendarGateway` adapter
- `categories` the master category (R3); `ensure_category_once`
- `wire`       Graph event JSON ↔ snapshots (pydantic), in one place
- `metering`   `RequestCounter`, `MailboxSlots`
- `errors`     the exception tree (`NeedsSignIn`, `Throttled`, …)
"""
