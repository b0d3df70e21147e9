"""Event text in the window cache, sealed (issue 23 item 6; R22).

`event_cache.data` holds an event's snapshot fields as JSON. Its user-written text — the
subject and the body — is stored as one Fernet token under `"sealed"` with the same
MultiFernet keys as every other secret (`store/secrets.py`), so a dump of the
CALENDAREVENT database (a backup, a copied file) shows no subject nor body. Times,
categories, ids and hashes stay readable: the cycle's statements never look inside.

Sealing happens at the store's edge only: the engine and the core see plain snapshot
fields (`CachedEvent.data`). A row written before sealing (none after migration 0009,
which empties the cache) is read as it is.
"""

from __future__ import annotations

import json
from typing import Any

from s5sync.store.secrets import SecretBox

SEALED = "sealed"
TEXT_FIELDS = ("subject", "body")


def seal_event_data(box: SecretBox, data: dict[str, Any]) -> dict[str, Any]:
    """Snapshot fields → the stored form: subject and body in one Fernet token."""
    text = {name: data[name] for name in TEXT_FIELDS if name in data}
    stored = {name: value for name, value in data.items() if name not in TEXT_FIELDS}
    if text:
        stored[SEALED] = box.seal(json.dumps(text, separators=(",", ":"))).decode("ascii")
    return stored


def open_event_data(box: SecretBox, stored: dict[str, Any]) -> dict[str, Any]:
    """The stored form → snapshot fields (a row without a token is read as it is)."""
    data = dict(stored)
    token = data.pop(SEALED, None)
    if isinstance(token, str):
        data.update(json.loads(box.open(token.encode("ascii"))))
    return data


def rotate_event_data(box: SecretBox, stored: dict[str, Any]) -> dict[str, Any]:
    """`s5sync keys rotate`: the token re-encrypted with the newest key; a row written
    before sealing is sealed now."""
    token = stored.get(SEALED)
    if isinstance(token, str):
        return {**stored, SEALED: box.rotate(token.encode("ascii")).decode("ascii")}
    return seal_event_data(box, stored)
