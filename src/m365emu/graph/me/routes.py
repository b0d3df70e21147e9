"""GET /me (user-get.md): needs User.Read or a broader directory scope."""

from __future__ import annotations

from m365emu.graph.common.dispatch import Route
from m365emu.graph.common.http import Call, GraphResponse
from m365emu.graph.me.models import user_json
from m365emu.graph.state import Mailbox

USER_READ = frozenset(
    {
        "User.Read",
        "User.ReadWrite",
        "User.ReadBasic.All",
        "User.Read.All",
        "User.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    }
)


def get_me(call: Call, box: Mailbox) -> GraphResponse:
    return call.ok(user_json(call.claims, f"{call.base_url.rstrip('/')}/$metadata#users/$entity"))


ROUTES = [Route("GET", "/me", get_me, USER_READ)]
