"""Both sides, several users, faults and crashes, against a model of what must be true
(issue 13; R1–R12b, R16, R16b, R17, R17b, R19b, R23b).

A Hypothesis state machine plays staff in System Five (s5emu's Desk on SQLite) and in
Outlook (Graph calls to the m365emu emulator, in-process), moves the clock across
midnight, the clocks going back in New York, tasks' starts and the 14-day window's edge,
and runs the real `CycleEngine` over the real System Five connector and Graph adapter:
cleanly, with faults armed on the emulator (429 with Retry-After, 5xx, timeouts, applied
then timed out, delta expiry), with the process killed at its n-th write, after the
mapping rows were lost or the window cache dropped, and with the sign-in revoked.

After every step both sides equal the model (`reliability_model`), nothing is deleted
on the other side (R6, R11) and no task has two events (R16). A cycle disturbed by a
fault or a crash is followed by a clean one at the same `now`; after every clean cycle
both sides equal what the model's rules say, and a further cycle writes nothing on
either side (R17) and, when nothing changed, costs one Graph request (R23b).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from support.reliability_machine import PROFILE, Reliability, write_tally
from support.reliability_stack import Templates

# ci: ≥ 2,000 steps in a few minutes; long: 50,000 steps for a night.
EXAMPLES, STEPS = {"ci": (60, 40), "long": (1250, 40)}.get(PROFILE, (60, 40))
if os.environ.get("RELIABILITY_DEBUG"):
    EXAMPLES, STEPS = (int(n) for n in os.environ["RELIABILITY_DEBUG"].split("x"))
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)


# The night profile runs for an hour: no per-test timeout then (pyproject's is 300 s).
@pytest.mark.timeout(0 if PROFILE == "long" else 600)
def test_both_sides_stay_as_the_model_says_through_faults_and_crashes_R16_R17(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    Reliability.templates = Templates(tmp_path_factory.mktemp("reliability"))
    run_state_machine_as_test(
        Reliability,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            phases=NO_SHRINK if os.environ.get("RELIABILITY_NO_SHRINK") else tuple(Phase),
        ),
    )
    write_tally()
