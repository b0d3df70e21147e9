"""JSON batching (learn.microsoft.com/graph/json-batching): up to 20 requests per `$batch`,
each sub-response handled on its own (R23b).

A sub-request answered 429 or 503 waits its own `Retry-After` (the header inside the
item), one answered 5xx, 408 or 424 (a failed dependency) waits a backoff; then the
still-pending items go out together in the next batch. Items are independent (no
`dependsOn`), so the batch may run them in parallel. A wait beyond the cycle's patience
leaves the pending items "not done", with when to come back; nothing else is lost.
Each `$batch` takes all 4 of the mailbox's slots.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from s5sync.outlook.errors import GraphError, GraphRejected, Throttled
from s5sync.outlook.metering import MAILBOX_SLOTS
from s5sync.outlook.session import PREFER, Answer, GraphSession, retry_after

log = logging.getLogger("s5sync.outlook.graph")

BATCH_LIMIT = 20
RETRIED_ITEMS = frozenset({408, 424, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class SubRequest:
    method: str
    url: str  # relative to the version root, e.g. "/me/events"
    body: Any = None
    if_match: str | None = None


@dataclass
class SubOutcome:
    """The final answer to one sub-request, or why it has none (`answer` None)."""

    answer: Answer | None = None
    # It may have been applied by an attempt whose answer was lost (a timeout, a 5xx):
    # a create is then verified by a lookup before it is trusted (R16).
    maybe_applied: bool = False
    retry_at: datetime | None = None
    reason: str = ""


def _item(index: int, request: SubRequest) -> dict[str, Any]:
    headers = {"Prefer": ", ".join(PREFER)}
    if request.if_match:
        headers["If-Match"] = request.if_match
    item: dict[str, Any] = {"id": str(index), "method": request.method, "url": request.url}
    if request.body is not None:
        headers["Content-Type"] = "application/json"
        item["body"] = request.body
    item["headers"] = headers
    return item


async def run_batches(session: GraphSession, requests: Sequence[SubRequest]) -> list[SubOutcome]:
    """Send every request in `$batch`es of 20, retrying only the items that need it."""
    outcomes = [SubOutcome() for _ in requests]
    pending = list(range(len(requests)))
    for round_no in range(1, session.policy.max_attempts + 1):
        waits: list[float] = []
        still: list[int] = []
        for start in range(0, len(pending), BATCH_LIMIT):
            chunk = pending[start : start + BATCH_LIMIT]
            try:
                outer = await session.request(
                    "POST",
                    "/$batch",
                    body={"requests": [_item(i, requests[i]) for i in chunk]},
                    weight=MAILBOX_SLOTS,
                )
            except GraphError as error:
                # The rest stays not done; a batch that timed out may have been applied.
                for i in pending[start:]:
                    outcomes[i].maybe_applied |= i in chunk
                    outcomes[i].reason = str(error)
                    if isinstance(error, Throttled):
                        outcomes[i].retry_at = error.retry_at
                return outcomes
            if outer.status != 200 or not isinstance(outer.body, dict):
                raise GraphRejected(
                    f"Microsoft Graph refused a $batch ({outer.status} {outer.error_code})",
                    status=outer.status,
                    code=outer.error_code,
                )
            _settle(session, requests, outcomes, chunk, outer, round_no, still, waits)
        pending = still
        if not pending:
            return outcomes
        wait = max(waits)
        left = session.remaining()
        if (
            round_no == session.policy.max_attempts
            or wait > session.policy.max_wait
            or (left is not None and wait >= left)
        ):
            retry_at = session.pacing.now() + timedelta(seconds=wait)
            for i in pending:
                outcomes[i].answer = None
                outcomes[i].retry_at = retry_at
            break
        log.info("graph.batch_retry items=%d wait=%.1f round=%d", len(pending), wait, round_no)
        await session.pacing.sleep(wait)
    return outcomes


def _settle(
    session: GraphSession,
    requests: Sequence[SubRequest],
    outcomes: list[SubOutcome],
    chunk: list[int],
    outer: Answer,
    round_no: int,
    still: list[int],
    waits: list[float],
) -> None:
    """Each item of one answered `$batch`: done, or left in `still` with how long to
    wait in `waits` (its own `Retry-After`, else a backoff: R23b)."""
    assert isinstance(outer.body, dict)
    answers = _answers_by_id(outer.body)
    for i in chunk:
        outcomes[i].maybe_applied |= outer.uncertain
        answer = answers.get(str(i))
        if answer is None:
            still.append(i)
            outcomes[i].reason = "the batch answer left this item out"
            waits.append(session.backoff(round_no))
            continue
        session.counter.record_item(requests[i].method, requests[i].url, answer.status)
        if answer.status in RETRIED_ITEMS:
            outcomes[i].maybe_applied |= answer.status >= 500 or answer.status == 408
            still.append(i)
            outcomes[i].answer = answer
            outcomes[i].reason = f"Graph answered {answer.status} {answer.error_code}"
            wait = retry_after(answer.headers, session.pacing.now())
            waits.append(wait if wait is not None else session.backoff(round_no))
            continue
        outcomes[i].answer = answer
        outcomes[i].reason = ""


def _answers_by_id(body: dict[str, Any]) -> dict[str, Answer]:
    """Sub-responses come in any order: match them by id (json-batching.md)."""
    answers: dict[str, Answer] = {}
    for raw in body.get("responses") or ():
        if not isinstance(raw, dict) or not isinstance(raw.get("status"), int):
            continue
        headers = raw.get("headers") if isinstance(raw.get("headers"), dict) else {}
        answers[str(raw.get("id"))] = Answer(raw["status"], headers or {}, raw.get("body"))
    return answers
