"""Audit the locked dependencies with pip-audit; never pass when nothing was audited.

    uv run python .ci/dependency_audit.py [--service pypi|osv] [--offline-ok]

1. `uv export --format requirements-txt --frozen --no-emit-project` — every package of
   uv.lock with its hashes, s5sync itself left out;
2. `pip-audit -r FILE --no-deps --disable-pip -f json -s SERVICE` — the pins are audited
   as locked, nothing is resolved or installed;
3. the verdict:
   - exit 1: a known vulnerability has a fixed version (upgrade it: `uv lock -P NAME`);
   - exit 0, with a warning per item: known vulnerabilities without any fix yet;
   - exit 2: the vulnerability service could not be reached, or did not know some
     dependencies ("could not be audited"): pip-audit then says "No known
     vulnerabilities found" and exits 0, which must not read as a pass. `--offline-ok`
     (or S5SYNC_AUDIT_OFFLINE_OK=1) turns exit 2 into 0 for a machine with no way out,
     still printing why nothing was audited.
Why: docs/security.md "Dependencies" (issue 14; OWASP ASVS v4 14.2.1).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any

OK, VULNERABLE, NOT_AUDITED = 0, 1, 2


@dataclass
class Verdict:
    code: int
    lines: list[str] = field(default_factory=list)


def judge(report: Any, service: str) -> Verdict:
    """The verdict on pip-audit's JSON report (`{"dependencies": [...], "fixes": [...]}`)."""
    if not isinstance(report, dict) or not isinstance(report.get("dependencies"), list):
        return Verdict(NOT_AUDITED, [f"pip-audit gave no report ({service}): nothing audited"])
    deps = [d for d in report["dependencies"] if isinstance(d, dict)]
    fixable, unfixable, skipped = [], [], []
    for dep in deps:
        name, version = dep.get("name", "?"), dep.get("version", "?")
        if dep.get("skip_reason"):
            skipped.append(f"{name}: {dep['skip_reason']}")
            continue
        for vuln in dep.get("vulns") or ():
            fixes = ", ".join(vuln.get("fix_versions") or ())
            line = f"{name} {version}: {vuln.get('id', '?')}"
            if fixes:
                fixable.append(f"{line} (fixed in {fixes})")
            else:
                unfixable.append(f"{line} (no fixed version yet)")
    lines = [f"VULNERABLE {item}" for item in fixable]
    lines += [f"warning: known vulnerability without a fix: {item}" for item in unfixable]
    if fixable:
        lines.append(
            f"{len(fixable)} known vulnerabilities have a fix: upgrade them (uv lock -P NAME)"
        )
        return Verdict(VULNERABLE, lines)
    if skipped or not deps:
        lines.append(
            f"NOT AUDITED: {len(skipped)} of {len(deps)} dependencies could not be checked "
            f"against the {service} vulnerability service (unreachable, or it does not know "
            "them); pip-audit's 'No known vulnerabilities found' does not cover them"
        )
        lines += [f"  {item}" for item in skipped[:5]]
        return Verdict(NOT_AUDITED, lines)
    lines.append(f"{len(deps)} locked dependencies audited ({service}): no fixable vulnerability")
    return Verdict(OK, lines)


def locked_requirements() -> str:
    command = ["uv", "export", "--format", "requirements-txt", "--frozen", "--no-emit-project"]
    return subprocess.run(  # noqa: S603 - fixed arguments; uv from PATH, as CI runs it
        command,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def audit(requirements: str, service: str) -> Any:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write(requirements)
    try:
        run = subprocess.run(  # noqa: S603 - fixed arguments, our own temp file
            [
                sys.executable,
                "-m",
                "pip_audit",
                "-r",
                handle.name,
                "--no-deps",
                "--disable-pip",
                "--progress-spinner",
                "off",
                "-f",
                "json",
                "-s",
                service,
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        os.unlink(handle.name)
    try:
        return json.loads(run.stdout)
    except ValueError:
        last = (run.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": last}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", default=os.environ.get("S5SYNC_AUDIT_SERVICE", "pypi"))
    parser.add_argument(
        "--offline-ok",
        action="store_true",
        default=os.environ.get("S5SYNC_AUDIT_OFFLINE_OK") == "1",
    )
    args = parser.parse_args(argv)
    report = audit(locked_requirements(), args.service)
    verdict = judge(report, args.service)
    if isinstance(report, dict) and "error" in report:
        verdict.lines.insert(0, f"pip-audit failed: {report['error']}")
    for line in verdict.lines:
        print(f"dependency audit: {line}", file=sys.stderr if verdict.code else sys.stdout)
    if verdict.code == NOT_AUDITED and args.offline_ok:
        print(
            "dependency audit: --offline-ok: not failing, but NOTHING WAS AUDITED", file=sys.stderr
        )
        return OK
    return verdict.code


if __name__ == "__main__":
    sys.exit(main())
