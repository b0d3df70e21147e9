"""Content hashes of owned fields (R5, R10, R17; DESIGN.md "Change detection")."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta, timezone

import pytest

from s5sync.core.hashing import body_text, event_hash, task_hash
from s5sync.core.snapshots import TaskKind
from support.core_builders import SHIP_TO, event, task


@pytest.mark.parametrize(
    "change",
    [
        {"title": "x"},
        {"notes": "x"},
        {"alarm_minutes": None},
        {"kind": TaskKind.DELIVERY, "ship_to": SHIP_TO},
        {"sync": False},
    ],
)
def test_task_hash_follows_every_owned_field_R5(change: dict[str, object]) -> None:
    t = task()
    assert task_hash(replace(t, **change)) != task_hash(t)  # type: ignore[arg-type]


def test_task_hash_ignores_what_s5sync_does_not_own_R5() -> None:
    t = task()
    other = replace(t, needs_review=True, updated_at="later", customer_name="Jones")
    assert task_hash(other) == task_hash(t)


def test_task_hash_is_about_instants_not_zone_spelling_R17() -> None:
    t = task()
    est = timezone(timedelta(hours=-5))
    assert task_hash(replace(t, start=t.start.astimezone(est))) == task_hash(t)


def test_event_hash_survives_exchange_rewriting_the_html_R17() -> None:
    ours = event(body="Bring samples<br>Gate 4", body_is_html=True)
    rewritten = replace(
        ours,
        body='<html><head><meta name="Generator"></head><body><div>Bring samples</div>'
        "<div>Gate&nbsp;4</div></body></html>",
    )
    assert event_hash(rewritten) == event_hash(ours)
    assert body_text(ours) == "Bring samples\nGate 4"


@pytest.mark.parametrize(
    "change",
    [
        {"subject": "Other [sync]"},
        {"body": "Other"},
        {"reminder_minutes": 5},
        {"is_all_day": True},
        {"start": None},
    ],
)
def test_event_hash_follows_every_owned_field_R10(change: dict[str, object]) -> None:
    e = event()
    assert event_hash(replace(e, **change)) != event_hash(e)  # type: ignore[arg-type]


def test_event_hash_ignores_categories_and_change_key_R10() -> None:
    e = event()
    assert event_hash(replace(e, categories=("Mine",), change_key="ck-9")) == event_hash(e)
