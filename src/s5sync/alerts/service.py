"""Alerts on the scheduler (R21d): decide, queue, deliver — never inside a cycle.

`Alerts.run()` is one round, called by the local scheduler and by a periodic task of the
distributed one: for each store it reads the facts, asks `plan_alerts` what to do and
saves the plan with its mails in one transaction (the outbox), then delivers due mails
from the outbox. A mail server that is down only leaves mails in the outbox for the
next round; a round that fails is logged and never reaches a cycle. Without a mail
server (`mailer` None) the plan still opens and closes problems, which the health page
shows, and nothing is queued.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from s5sync.alerts.messages import compose
from s5sync.alerts.smtp import Mailer, MailError, OutgoingMail, message_id
from s5sync.core.alerts import (
    FAILING_RUNS,
    UNREACHABLE_RUNS,
    StoreFacts,
    UserFacts,
    plan_alerts,
)
from s5sync.core.records import TenantRecord
from s5sync.core.status import FAILING_OUTCOMES, STATUS_WORDS, user_status
from s5sync.store.alerts import Outbox, QueuedMail
from s5sync.store.directory import Directory
from s5sync.store.scope import TenantScope

log = logging.getLogger(__name__)
RUNS_READ = 12  # enough for FAILING_RUNS in a row and an hour at a short interval


@dataclass
class Round:
    queued: int = 0
    sent: int = 0
    failed: int = 0


class Alerts:
    def __init__(
        self,
        directory: Directory,
        mailer: Mailer | None,
        public_url: str,
        clock: Callable[[], datetime],
    ) -> None:
        self.directory = directory
        self.mailer = mailer
        self.public_url = public_url
        self.clock = clock
        self.outbox = Outbox(directory.db)

    def scope(self, tenant_id: int) -> TenantScope:
        return TenantScope(self.directory.db, self.directory.box, tenant_id)

    async def run(self) -> Round:
        """One round; never raises (R21d: alerts never fail anything else)."""
        result = Round()
        try:
            for tenant in await self.directory.tenants():
                result.queued += await self.evaluate(tenant)
        except Exception:
            log.exception("alerts.evaluate_failed")
        try:
            sent, failed = await self.deliver()
            result.sent, result.failed = sent, failed
        except Exception:
            log.exception("alerts.deliver_failed")
        return result

    async def evaluate(self, tenant: TenantRecord) -> int:
        now = self.clock()
        async with self.scope(tenant.id).begin() as unit:
            users = await unit.users.all()
            created = await unit.alerts.created_at()
            suspects = [u.id for u in users if u.last_outcome in FAILING_OUTCOMES]
            runs = await unit.alerts.runs(suspects, RUNS_READ)
            facts = StoreFacts(
                tenant_id=tenant.id,
                name=tenant.name,
                time_zone=tenant.options.time_zone,
                administrators=tuple(u.email for u in users if u.is_admin and "@" in u.email),
                users=tuple(
                    UserFacts(
                        user_id=u.id,
                        email=u.email,
                        name=u.display_name,
                        status_words=STATUS_WORDS[user_status(u, tenant, now)],
                        needs_sign_in=u.status == "needs_sign_in",
                        signed_in=not u.object_id.startswith("invited:"),
                        onboarded=u.onboarded,
                        created_at=created.get(u.id),
                        runs=runs.get(u.id, ()),
                    )
                    for u in users
                ),
                store_runs=await unit.alerts.store_runs(max(UNREACHABLE_RUNS, FAILING_RUNS)),
                digest=tenant.options.alert_digest,
                mail_enabled=self.mailer is not None,
            )
            plan = plan_alerts(facts, await unit.alerts.open_alerts(), now)
            mails = []
            for notice in plan.notices:
                words = compose(notice, tenant.name, tenant.options.time_zone, self.public_url)
                mails.append(
                    QueuedMail(
                        notice.dedupe_key,
                        notice.kind.value,
                        notice.recipient,
                        words.subject,
                        words.text,
                        words.html,
                    )
                )
            return await unit.alerts.save(plan, mails, now)

    async def deliver(self) -> tuple[int, int]:
        """Send due mails from the outbox; (sent, failed)."""
        if self.mailer is None:
            return 0, 0
        sent = failed = 0
        claimed = await self.outbox.claim(self.clock())
        for index, mail in enumerate(claimed):
            outgoing = OutgoingMail(
                mail.recipient,
                mail.subject,
                mail.text,
                mail.html,
                message_id(mail.dedupe_key, self.mailer.sender),
            )
            try:
                await self.mailer.send(outgoing)
            except MailError as error:
                failed += 1
                log.warning("alerts.mail_failed", extra={"mail_id": mail.id, "error": str(error)})
                await self.outbox.failed(mail, self.clock(), str(error))
                # The server is down: the rest wait for the next round, untried.
                await self.outbox.release([m.id for m in claimed[index + 1 :]])
                break
            sent += 1
            await self.outbox.sent(mail.id, self.clock())
        return sent, failed
