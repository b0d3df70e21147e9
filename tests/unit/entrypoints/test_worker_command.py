"""`s5sync worker` and `s5sync bench` are commands of the real CLI (issue 12)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from s5sync.entrypoints.cli import app
from s5sync.store.secrets import SecretBox


def env(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "s5sync.env"
    base = [
        f"S5SYNC_DATABASE_URL=sqlite:///{tmp_path}/ce.db",
        f"S5SYNC_SECRET_KEYS={SecretBox.generate_key()}",
    ]
    path.write_text("\n".join([*base, *lines]) + "\n")
    return path


def test_worker_needs_the_procrastinate_scheduler(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--env-file", str(env(tmp_path)), "worker"])
    assert result.exit_code == 2
    assert "S5SYNC_SCHEDULER=procrastinate" in result.output


def test_worker_on_sqlite_says_it_needs_postgresql(tmp_path: Path) -> None:
    file = env(tmp_path, "S5SYNC_SCHEDULER=procrastinate")
    result = CliRunner().invoke(app, ["--env-file", str(file), "worker", "--concurrency", "2"])
    assert result.exit_code == 2
    assert "needs PostgreSQL" in result.output


def test_bench_and_worker_are_listed_with_their_options() -> None:
    runner = CliRunner()
    assert "--concurrency" in runner.invoke(app, ["worker", "--help"]).output
    help_text = runner.invoke(app, ["bench", "--help"]).output
    assert "--quick" in help_text
    assert "--json" in help_text
