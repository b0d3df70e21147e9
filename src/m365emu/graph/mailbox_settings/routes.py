"""GET and PATCH /me/mailboxSettings (user-get-mailboxsettings.md,
user-update-mailboxsettings.md), the `timeZone` setting only.

Reading needs MailboxSettings.Read or MailboxSettings.ReadWrite; writing needs
MailboxSettings.ReadWrite. A zone is an IANA or a Windows name, as Outlook accepts both;
an unknown one is refused (400). A mailbox that never set one answers "UTC".
Not emulated: automaticRepliesSetting, language, workingHours, date and time formats.
"""

from __future__ import annotations

from m365emu.graph.common.dispatch import Route
from m365emu.graph.common.errors import unknown_property, wrong_type
from m365emu.graph.common.http import Call, GraphResponse
from m365emu.graph.events import timezones
from m365emu.graph.state import Mailbox

READ = frozenset({"MailboxSettings.Read", "MailboxSettings.ReadWrite"})
WRITE = frozenset({"MailboxSettings.ReadWrite"})


def _answer(call: Call, box: Mailbox) -> GraphResponse:
    return call.ok(
        {
            "@odata.context": call.context_url("mailboxSettings"),
            "timeZone": box.time_zone or "UTC",
        }
    )


def get_settings(call: Call, box: Mailbox) -> GraphResponse:
    return _answer(call, box)


def update_settings(call: Call, box: Mailbox) -> GraphResponse:
    body = call.request.json_object()
    for name, value in body.items():
        if name.startswith("@"):
            continue
        if name != "timeZone":
            raise unknown_property(name, "microsoft.graph.mailboxSettings")
        if not isinstance(value, str):
            raise wrong_type(name, "Edm.String")
        timezones.zone(value)  # an unknown zone is refused as Graph does
        box.time_zone = value
    if box.saver is not None:
        box.saver(box)
    return _answer(call, box)


ROUTES = [
    Route("GET", "/me/mailboxSettings", get_settings, READ),
    Route("PATCH", "/me/mailboxSettings", update_settings, WRITE),
]
