"""What the web app's tests share (R20–R22; issue 18): who signs in, the pages every
role opens, how a form is posted, the options form, and the security headers every
answer carries.

The `people` fixture (tests/integration/web/conftest.py) signs these three in: Alice
administers Contoso, Bob is Contoso staff, Erin administers Fabrikam.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from support.web_world import ZONE

ALICE, BOB, ERIN = "alice@contoso.example", "bob@contoso.example", "erin@fabrikam.example"
PAGES = [
    "/",
    "/onboarding",
    "/dashboard",
    "/dashboard/status",
    "/admin",
    "/admin/options",
    "/admin/users",
    "/admin/audit",
    "/admin/audit.csv",
    "/dashboard/activity.csv",
    "/healthz",
    "/metrics",
]
HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


async def post(person_browser: httpx.AsyncClient, csrf: str, path: str, **data: str) -> int:
    answer = await person_browser.post(path, data={"csrf_token": csrf, **data})
    return answer.status_code


def options_form(**changes: str) -> dict[str, str]:
    form = {
        "category_name": "Received From System5",
        "category_color": "preset4",
        "sync_tag": "[sync]",
        "import_window_days": "14",
        "interval_minutes": "10",
        "time_zone": "America/New_York",
        "retention_days": "30",
        "removed_category": "on",
        "removed_category_name": "Removed from System Five",
        "removed_category_color": "preset0",
    }
    form.update(changes)
    return form


def tomorrow_at(hour: int) -> str:
    day = datetime.now(ZoneInfo(ZONE)).date() + timedelta(days=1)
    return f"{day.isoformat()}T{hour:02d}:00:00"


def check_headers(answer: httpx.Response) -> list[str]:
    """What is missing from `answer`'s security headers (R22), one line each."""
    problems = [
        f"{answer.request.url.path}: {name}"
        for name, value in HEADERS.items()
        if answer.headers.get(name) != value
    ]
    csp = answer.headers.get("content-security-policy", "")
    for directive in ("default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"):
        if directive not in csp:
            problems.append(f"{answer.request.url.path}: CSP {directive}")
    if "unsafe-inline" in csp:
        problems.append(f"{answer.request.url.path}: CSP allows inline")
    return problems
