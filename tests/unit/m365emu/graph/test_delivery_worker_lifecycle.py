"""The emulator's delivery worker starts and stops however short its block (issue 19).

Regression: `running()` created the worker's task and, on leaving a block that ended
before the task had run, `stop()` set the stop flag — which `run()` then reset when it
began, so it looped for ever and the `await` at the end of the block hung.
"""

from __future__ import annotations

import asyncio

import httpx

from m365emu.clock import EmulatorClock
from m365emu.faults import FaultBook
from m365emu.graph.subscriptions.delivery import DeliveryWorker


def worker() -> DeliveryWorker:
    def clients(timeout: float) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=timeout)

    return DeliveryWorker(EmulatorClock(), FaultBook(), clients, lambda _d: None, lambda _n: None)


async def test_a_block_that_ends_before_the_worker_starts_still_stops_it() -> None:
    delivery = worker()

    async def empty_block() -> None:
        async with delivery.running():
            pass  # no await inside: run() has not started when stop() is called

    # A hang here is the bug; the bound only turns it into a failure.
    await asyncio.wait_for(empty_block(), timeout=30)


async def test_the_worker_runs_again_after_a_stop() -> None:
    delivery = worker()

    async def twice() -> None:
        async with delivery.running():
            await asyncio.sleep(0.05)  # under way: stop() ends it at its next wake
        async with delivery.running():
            pass

    await asyncio.wait_for(twice(), timeout=30)


def test_a_thread_stopped_at_once_ends() -> None:
    delivery = worker()
    delivery.start_thread()
    thread = delivery._thread
    delivery.stop_thread()
    assert thread is not None
    thread.join(timeout=30)
    assert not thread.is_alive()
