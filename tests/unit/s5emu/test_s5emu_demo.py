"""The demo store: believable, deterministic per seed, matching the M365 demo users (R20)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from s5emu.cli import app as cli
from s5emu.demo import DemoError, seed_demo
from s5emu.schema import address, customer, employee, engine_for, task

TODAY = date(2026, 11, 25)


def dump(url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return {
                table.name: [tuple(row) for row in conn.execute(select(table).order_by(table.c.id))]
                for table in (employee, customer, address, task)
            }
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[object, ...]]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'systemfive.db'}"
    seed_demo(url, TODAY, seed=7)
    return dump(url)


def test_employees_match_the_microsoft_365_emulator_demo_users_R20(
    demo: dict[str, list[tuple[object, ...]]],
) -> None:
    assert [(row[2], row[3]) for row in demo["employee"]] == [
        ("Alice Martin", "alice@contoso.example"),
        ("Bob Nguyen", "bob@contoso.example"),
        ("Carol Diaz", "carol@contoso.example"),
        ("Dave Okafor", "dave@contoso.example"),
    ]


def test_customers_have_bill_to_some_ship_to_and_non_ascii_names_R4(
    demo: dict[str, list[tuple[object, ...]]],
) -> None:
    assert len(demo["customer"]) == 20
    kinds: dict[object, set[object]] = {}
    for row in demo["address"]:
        kinds.setdefault(row[1], set()).add(row[2])
    assert all("bill_to" in found for found in kinds.values())
    assert len(kinds) == 20
    assert any(found == {"bill_to"} for found in kinds.values())
    assert any(found == {"bill_to", "ship_to"} for found in kinds.values())
    names = {row[1] for row in demo["customer"]}
    assert {"Zoë Brontë", "Søren Ærø", "José Núñez"} <= names
    assert any(not str(row[3]).isascii() for row in demo["address"])


def test_tasks_cover_every_kind_over_three_weeks_some_ticked_some_to_review_R1_R13(
    demo: dict[str, list[tuple[object, ...]]],
) -> None:
    tasks = demo["task"]
    assert len(tasks) == 40
    assert {row[3] for row in tasks} == {"customer", "delivery", "service", "internal", "outlook"}
    days = {date.fromisoformat(str(row[6])[:10]) for row in tasks}
    assert min(days) >= TODAY
    assert max(days) < TODAY + timedelta(days=21)
    ticked = [row for row in tasks if row[9] == 1]
    assert ticked
    assert all(row[3] in ("customer", "delivery") for row in ticked)
    assert any(row[10] == 1 for row in tasks)
    assert {row[1] for row in tasks} == {1, 2, 3, 4}


def test_same_seed_gives_the_same_store_and_another_seed_another(
    tmp_path: Path, demo: dict[str, list[tuple[object, ...]]]
) -> None:
    same, other = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    seed_demo(same, TODAY, seed=7)
    seed_demo(other, TODAY, seed=8)
    assert dump(same) == demo
    assert dump(other)["task"] != demo["task"]


def test_seeding_a_store_that_has_data_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'systemfive.db'}"
    seed_demo(url, TODAY)
    with pytest.raises(DemoError, match="already has employees"):
        seed_demo(url, TODAY)


def test_cli_init_creates_the_schema_and_with_demo_a_store(tmp_path: Path) -> None:
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'systemfive.db'}"
    plain = runner.invoke(cli, ["init", "--db", url])
    assert plain.exit_code == 0, plain.output
    seeded = runner.invoke(
        cli, ["init", "--db", url, "--demo", "--seed", "3", "--today", "2026-11-25"]
    )
    assert seeded.exit_code == 0, seeded.output
    assert len(dump(url)["task"]) == 40
    again = runner.invoke(cli, ["init", "--db", url, "--demo"])
    assert again.exit_code == 1


def test_cli_serve_refuses_an_unknown_time_zone_before_starting(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'systemfive.db'}"
    result = CliRunner().invoke(cli, ["serve", "--db", url, "--time-zone", "Mars/Olympus"])
    assert result.exit_code == 2
    assert "unknown time zone 'Mars/Olympus'" in result.output
