"""Estimated usage close to the bill: cache hits from the previous prompt, nothing for a request never sent."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.outcome import Outcome
from agent.spend.estimate import prompt_text
from agent.tokens import count_tokens
from fixtures.fakeapi import ScriptedCall, Turn
from tests.helpers import make_agent, of_type


async def test_a_call_without_usage_is_estimated_with_the_cache_hits_of_its_shared_prefix(repo: Path,
                                                                                         fake_api) -> None:
    (repo / "notes.txt").write_text("remember the milk\n")
    server = fake_api([Turn(tool_calls=[ScriptedCall(name="read_file", arguments={"path": "notes.txt"})]),
                       Turn(content="Done: it says milk.", cut_before_usage=True)])
    agent, pool, _events = make_agent(repo, server.base_url)
    assert await agent.run("what do the notes say?") is Outcome.DONE
    await pool.aclose()
    first, second = agent.session.ledger.records
    assert not first.estimated and second.estimated
    # The second prompt repeats the first one (system message, task) and adds the call and its result:
    # those repeated messages are what the provider serves from its cache.
    shared = [agent.system_for("deepseek-v4-pro"), *agent.session.messages[:1]]
    expected = count_tokens(prompt_text(shared), "deepseek-v4")
    assert second.cache_hit_tokens == expected and 0 < second.cache_hit_tokens < second.input_tokens
    assert second.cost_usd < first.cost_usd * 3  # not the whole prompt at the cache-miss price


async def test_cancelled_while_waiting_to_retry_records_nothing_for_the_request_not_sent(repo: Path,
                                                                                        fake_api) -> None:
    server = fake_api([Turn(fault="429", retry_after=30), Turn(content="never reached")])
    agent, pool, events = make_agent(repo, server.base_url)
    run = asyncio.create_task(agent.run("hello"))
    for _ in range(500):
        if any("retry 1/" in e.message for e in of_type(events, "notice")):
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the retry never started waiting")
    run.cancel()  # Ctrl+C during the 30 s Retry-After wait
    with pytest.raises(asyncio.CancelledError):
        await run
    await pool.aclose()
    assert len(server.requests) == 1
    assert agent.session.ledger.records == []  # the refused attempt was not billed; the next was never sent
