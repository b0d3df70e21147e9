"""The dependency audit's verdict (.ci/dependency_audit.py; issue 14; ASVS 14.2.1): a
known vulnerability with a fix fails, one without a fix warns, and a service that could
not be reached — or audited nothing — fails clearly instead of passing silently."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "dependency_audit.py"


@pytest.fixture(scope="module")
def audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dependency_audit", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["dependency_audit"] = module
    spec.loader.exec_module(module)
    return module


def dep(name: str, *vulns: tuple[str, list[str]]) -> dict[str, object]:
    return {
        "name": name,
        "version": "1.0",
        "vulns": [{"id": i, "fix_versions": f, "aliases": [], "description": ""} for i, f in vulns],
    }


def test_a_vulnerability_with_a_fix_fails_the_audit(audit: ModuleType) -> None:
    report = {"dependencies": [dep("ok"), dep("bad", ("PYSEC-2024-1", ["1.0.1"]))], "fixes": []}
    verdict = audit.judge(report, "pypi")
    assert verdict.code == audit.VULNERABLE
    assert "VULNERABLE bad 1.0: PYSEC-2024-1 (fixed in 1.0.1)" in verdict.lines


def test_a_vulnerability_without_a_fix_warns_but_passes(audit: ModuleType) -> None:
    report = {"dependencies": [dep("ok"), dep("meh", ("GHSA-xxxx", []))], "fixes": []}
    verdict = audit.judge(report, "pypi")
    assert verdict.code == audit.OK
    assert any("without a fix: meh 1.0: GHSA-xxxx" in line for line in verdict.lines)


def test_dependencies_the_service_could_not_audit_fail_clearly(audit: ModuleType) -> None:
    skipped = {
        "name": "urllib3",
        "skip_reason": "Dependency not found on PyPI and could not be audited: urllib3 (2.8.0)",
    }
    verdict = audit.judge({"dependencies": [dep("ok"), skipped], "fixes": []}, "pypi")
    assert verdict.code == audit.NOT_AUDITED
    assert verdict.lines[0].startswith("NOT AUDITED: 1 of 2 dependencies")


@pytest.mark.parametrize(
    "report", [None, {}, {"error": "NameResolutionError"}, {"dependencies": []}]
)
def test_no_report_or_an_empty_one_is_not_a_pass(audit: ModuleType, report: object) -> None:
    assert audit.judge(report, "osv").code == audit.NOT_AUDITED


def test_the_real_pip_audit_on_a_vulnerable_pin_never_passes(audit: ModuleType) -> None:
    """urllib3 1.26.4 has published advisories with fixes (e.g. CVE-2023-43804): online the
    audit fails as vulnerable; offline it fails as not audited; it never passes."""
    report = audit.audit("urllib3==1.26.4\n", "pypi")
    verdict = audit.judge(report, "pypi")
    assert verdict.code in (audit.VULNERABLE, audit.NOT_AUDITED), verdict.lines
