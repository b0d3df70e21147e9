"""What a user reads when Microsoft's sign-in did not end in a session (issue 20 item 10):
a cancelled sign-in or consent said as such, no raw AADSTS codes."""

from __future__ import annotations

import pytest

from s5sync.staff.accounts import sign_in_problem


@pytest.mark.parametrize(
    "answer",
    [
        {"error": "access_denied", "error_description": "AADSTS65004: User declined to consent"},
        {"error": "consent_required", "error_description": "AADSTS65001: consent"},
        {"error": "invalid_request", "error_description": "AADSTS65004: declined"},
    ],
)
def test_cancelled_sign_in_is_said_plainly_R19(answer: dict[str, str]) -> None:
    sentence = sign_in_problem(answer)
    assert sentence.startswith("You cancelled the sign-in.")
    assert "AADSTS" not in sentence


def test_other_errors_lose_their_code_R19() -> None:
    sentence = sign_in_problem(
        {"error": "invalid_grant", "error_description": "AADSTS50020: User account is from\nx"}
    )
    assert sentence == "Microsoft did not sign you in: User account is from"
