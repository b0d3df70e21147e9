"""The words of alert e-mails (R21d): plain text and HTML, in the store's time zone, with
the one thing to do and a link to the page where it is done.

Pure: a `Notice` and the store in, a `Composed` out. Nothing secret can reach a mail
from here — a notice carries e-mail addresses, names, problem kinds and times only
(R22: never a token, a connection string or an error text from a driver).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from s5sync.core.alerts import Notice, NoticeKind, Problem
from s5sync.core.timezones import zone

# Per problem: what happened (about {who}), and the one thing to do.
WORDS: dict[Problem, tuple[str, str]] = {
    Problem.NEEDS_SIGN_IN: (
        "{who} must sign in again: Microsoft 365 no longer accepts their sign-in, so "
        "their calendar is not synced.",
        "Ask {who} to open s5sync and sign in again.",
    ),
    Problem.NOT_MATCHED: (
        "{who} signed in but is not matched to a System Five employee, so nothing is "
        "synced for them.",
        "Map {who} to their System Five employee on the Staff page.",
    ),
    Problem.FAILING: (
        "The sync of {who} keeps failing.",
        "Open the health page, read the last error and run the user's test.",
    ),
    Problem.SYSTEM_FIVE_UNREACHABLE: (
        "s5sync cannot reach {who}'s System Five database: no task is synced in either direction.",
        "Check that the System Five server is running and reachable; the operator holds "
        "the connection settings.",
    ),
}
SHORT = {
    Problem.NEEDS_SIGN_IN: "must sign in again",
    Problem.NOT_MATCHED: "is not matched to an employee",
    Problem.FAILING: "sync is failing",
    Problem.SYSTEM_FIVE_UNREACHABLE: "System Five cannot be reached",
}


@dataclass(frozen=True)
class Composed:
    subject: str
    text: str
    html: str


def local(moment: datetime, time_zone: str) -> str:
    return moment.astimezone(zone(time_zone)).strftime("%Y-%m-%d %H:%M") + f" ({time_zone})"


def compose(notice: Notice, store_name: str, time_zone: str, public_url: str) -> Composed:
    base = public_url.rstrip("/")
    if notice.kind is NoticeKind.DIGEST:
        return _digest(notice, store_name, base)
    assert notice.problem is not None
    who = notice.user.name or notice.user.email if notice.user is not None else store_name
    since = local(notice.since, time_zone) if notice.since is not None else ""
    happened, todo = (part.format(who=who) for part in WORDS[notice.problem])
    link = f"{base}/admin"
    if notice.kind is NoticeKind.RECOVERY:
        subject = f"Back to normal: {who} ({store_name})"
        lines = [f"Back to normal: {who} ({SHORT[notice.problem]} since {since}) is fine again."]
        todo = "Nothing to do."
    elif notice.to_the_user:
        subject = "Sign in to s5sync again to keep your calendar in sync"
        lines = [
            "Microsoft 365 no longer accepts your s5sync sign-in (a changed password or a "
            f"revoked session), so your calendar has not been synced since {since}."
        ]
        todo = "Open s5sync and sign in again."
        link = f"{base}/"
    else:
        subject = f"s5sync: {who} — {SHORT[notice.problem]} ({store_name})"
        lines = [happened, f"Since {since}."]
    text = "\n\n".join([*lines, f"What to do: {todo}", link, _footer(store_name)]) + "\n"
    body = "".join(f"<p>{escape(line)}</p>" for line in lines)
    html = (
        f"<html><body>{body}<p><strong>What to do:</strong> {escape(todo)}</p>"
        f'<p><a href="{escape(link)}">{escape(link)}</a></p>'
        f"<p><small>{escape(_footer(store_name))}</small></p></body></html>"
    )
    return Composed(subject, text, html)


def _footer(store_name: str) -> str:
    return f"— s5sync for {store_name}. At most one alert per person and problem a day."


def _digest(notice: Notice, store_name: str, base: str) -> Composed:
    subject = f"s5sync daily digest ({store_name}): " + (
        f"{len(notice.open_alerts)} need attention" if notice.open_alerts else "all well"
    )
    problems = [f"{who}: {SHORT[problem]}" for who, problem in notice.open_alerts]
    states = [f"{u.email}: {u.status_words}" for u in notice.users]
    text = "\n".join(
        [
            "Needs attention:" if problems else "Nothing needs attention.",
            *(f"- {line}" for line in problems),
            "",
            "Every user:",
            *(f"- {line}" for line in states),
            "",
            f"{base}/admin",
            _footer(store_name),
        ]
    )
    items = "".join(f"<li>{escape(line)}</li>" for line in problems)
    everyone = "".join(f"<li>{escape(line)}</li>" for line in states)
    html = (
        "<html><body>"
        + (
            f"<h2>Needs attention</h2><ul>{items}</ul>"
            if problems
            else "<p>Nothing needs attention.</p>"
        )
        + f"<h2>Every user</h2><ul>{everyone}</ul>"
        + f'<p><a href="{escape(base)}/admin">{escape(base)}/admin</a></p>'
        + f"<p><small>{escape(_footer(store_name))}</small></p></body></html>"
    )
    return Composed(subject, text + "\n", html)


def invitation(store_name: str, inviter: str, name: str, public_url: str) -> tuple[str, str, str]:
    """(subject, text, html) of the sign-in link an administrator sends (issue 21 item 5)."""
    link = f"{public_url.rstrip('/')}/"
    subject = f"{store_name}: sign in to s5sync to see your appointments in Outlook"
    lines = [
        f"Hello {name},",
        f"{inviter} invites you to s5sync: your System Five customer visits and deliveries "
        "will appear in your Outlook calendar.",
    ]
    todo = "Open the link and sign in with your Microsoft work account."
    text = "\n\n".join([*lines, f"What to do: {todo}", link, f"— s5sync for {store_name}"])
    body = "".join(f"<p>{escape(line)}</p>" for line in lines)
    html = (
        f"<html><body>{body}<p><strong>What to do:</strong> {escape(todo)}</p>"
        f'<p><a href="{escape(link)}">{escape(link)}</a></p></body></html>'
    )
    return subject, text + "\n", html
