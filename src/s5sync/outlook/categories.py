"""The store's category in the user's master category list (R3, R21b;
learn.microsoft.com/graph/api/outlookuser-post-mastercategories).

`MasterCategories.ensure` lists the categories and creates the store's one with its
colour when missing; on a refused create (the duplicate-name answer is undocumented,
graph.md §3) it re-lists and matches the name in any letter case. A cycle asks at most
once; `ensure_category_once` makes it cost nothing on later cycles: the caller stores the
returned name (`CycleStore.mark_category_ready`) and passes it back.
"""

from __future__ import annotations

from s5sync.outlook.errors import GraphRejected
from s5sync.outlook.session import GraphSession
from s5sync.sync.ports import CalendarGateway

CATEGORIES_PATH = "/me/outlook/masterCategories"


class MasterCategories:
    def __init__(self, session: GraphSession) -> None:
        self.session = session
        self._ok: set[str] = set()

    async def ensure(self, name: str, color: str) -> bool:
        """True if the category had to be created."""
        if name.casefold() in self._ok:
            return False
        if await self._has(name):
            self._ok.add(name.casefold())
            return False
        answer = await self.session.request(
            "POST", CATEGORIES_PATH, body={"displayName": name, "color": color}
        )
        if answer.status in (200, 201):
            self._ok.add(name.casefold())
            return True
        if 400 <= answer.status < 500 and await self._has(name):
            self._ok.add(name.casefold())
            return False
        raise GraphRejected(
            f"Microsoft Graph refused to create the category ({answer.status} {answer.error_code})",
            status=answer.status,
            code=answer.error_code,
        )

    async def _has(self, name: str) -> bool:
        answer = await self.session.request("GET", CATEGORIES_PATH)
        if answer.status != 200 or not isinstance(answer.body, dict):
            raise GraphRejected(
                f"Microsoft Graph refused to list categories ({answer.status} {answer.error_code})",
                status=answer.status,
                code=answer.error_code,
            )
        names = [
            c.get("displayName") for c in answer.body.get("value") or () if isinstance(c, dict)
        ]
        return any(isinstance(n, str) and n.casefold() == name.casefold() for n in names)


async def ensure_category_once(
    gateway: CalendarGateway, remembered: str | None, name: str, color: str
) -> str:
    """R3 at no cost after the first cycle; a renamed category (R21b) is ensured again."""
    if remembered != name:
        await gateway.ensure_category(name, color)
    return name
