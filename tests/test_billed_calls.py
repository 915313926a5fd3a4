"""Every billed call is recorded: a cancelled stream and a stream cut after its answer each leave one
recorded call, marked estimated (real HTTP against the fake server)."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from agent.events import UsageEvent
from agent.outcome import Outcome
from agent.providers.base import RETRIED_NOTE
from agent.spend.explain import spend_lines
from agent.transcript import read_transcript
from fixtures.fakeapi import Turn
from tests.helpers import make_agent, of_type


async def wait_for(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def test_cancelled_stream_is_recorded_once_as_an_estimate(repo: Path, fake_api) -> None:
    answer = "A long answer that streams slowly, " * 20
    server = fake_api([Turn(content=answer, chunk_delay_s=0.05)])
    agent, pool, events = make_agent(repo, server.base_url)
    run = asyncio.create_task(agent.run("explain the parser"))
    await wait_for(lambda: len(of_type(events, "message.delta")) >= 3)
    run.cancel()  # what Ctrl+C and /compact do to the running turn
    with pytest.raises(asyncio.CancelledError):
        await run
    await pool.aclose()
    assert len(server.requests) == 1
    records = agent.session.ledger.records
    assert len(records) == 1
    record = records[0]
    assert record.estimated and record.note == "cancelled mid-stream" and record.priced and record.cost_usd > 0
    assert record.input_tokens > 0 and 0 < record.output_tokens < len(answer)
    stored = [e for e in read_transcript(agent.session.transcript.path) if isinstance(e, UsageEvent)]
    assert [e.record for e in stored] == [record]
    assert agent.session.ledger.by_model()["deepseek-v4-pro"].estimated_calls == 1



async def test_stream_cut_after_its_answer_is_kept_and_recorded_once_as_an_estimate(repo: Path, fake_api) -> None:
    server = fake_api([Turn(content="The answer, complete.", cut_before_usage=True)])
    agent, pool, events = make_agent(repo, server.base_url)
    assert (await agent.run("answer")).outcome is Outcome.DONE
    await pool.aclose()
    assert len(server.requests) == 1 and not of_type(events, "stream.reset")  # not retried: billed once
    assert agent.session.messages[-1].content == "The answer, complete."
    records = agent.session.ledger.records
    assert len(records) == 1 and records[0].estimated and records[0].priced
    assert records[0].note == "stream cut after the answer, before its usage"
    assert records[0].input_tokens > 0 and records[0].output_tokens > 0
    stored = [e for e in read_transcript(agent.session.transcript.path) if isinstance(e, UsageEvent)]
    assert [e.record for e in stored] == records


async def test_stream_cut_before_its_answer_is_still_retried(repo: Path, fake_api) -> None:
    server = fake_api([Turn(fault="cut"), Turn(content="second try")])
    agent, pool, events = make_agent(repo, server.base_url)
    assert (await agent.run("answer")).outcome is Outcome.DONE
    await pool.aclose()
    assert len(server.requests) == 2 and of_type(events, "stream.reset")
    assert agent.session.messages[-1].content == "second try"


async def test_running_estimate_never_goes_down_when_a_cut_stream_starts_over(repo: Path, fake_api) -> None:
    # A long answer streams for a while and is cut; the retry starts from nothing. The estimate shown for the
    # call keeps the higher figure until the retry passes it.
    server = fake_api([Turn(fault="cut", content="A long first attempt. " * 40, chunk_delay_s=0.01),
                       Turn(content="Short second try.", chunk_delay_s=0.3)])
    agent, pool, events = make_agent(repo, server.base_url)
    await agent.run("explain")
    await pool.aclose()
    assert of_type(events, "stream.reset")
    shown = [Decimal(e.call_usd) for e in of_type(events, "usage.estimate")]
    assert len(shown) >= 3 and shown == sorted(shown)


async def test_an_attempt_cut_after_the_provider_started_is_recorded_before_the_retry(repo: Path, fake_api) -> None:
    """The provider bills a stream it started, even if it is cut and retried: both attempts are on the ledger,
    the cut one estimated and flagged, and `agent cost --explain` says why."""
    server = fake_api([Turn(fault="cut", content="A first attempt that is cut. " * 10), Turn(content="second try")])
    agent, pool, _events = make_agent(repo, server.base_url)
    assert (await agent.run("answer")).outcome is Outcome.DONE
    await pool.aclose()
    records = agent.session.ledger.records
    assert len(records) == 2 and len(server.requests) == 2
    cut, whole = records
    assert cut.estimated and cut.priced and cut.cost_usd > 0 and cut.note == RETRIED_NOTE
    assert cut.input_tokens > 0 and cut.output_tokens > 0 and not whole.estimated
    stored = [e.record for e in read_transcript(agent.session.transcript.path) if isinstance(e, UsageEvent)]
    assert stored == records
    assert RETRIED_NOTE in "\n".join(spend_lines(agent.session.ledger, explain=True))


async def test_every_cut_attempt_of_a_call_that_fails_is_recorded_and_refusals_are_not(repo: Path,
                                                                                       fake_api) -> None:
    server = fake_api([Turn(fault="503"), Turn(fault="cut"), Turn(fault="cut"), Turn(fault="cut")])
    agent, pool, _events = make_agent(repo, server.base_url)
    agent.session.config.retry.max_retries = 3
    await agent.run("answer")  # then another model may take over: only the failed call's attempts matter here
    await pool.aclose()
    records = [r for r in agent.session.ledger.records if r.model == "deepseek-v4-pro"]
    assert [r["model"] for r in server.requests[:4]] == ["deepseek-v4-pro"] * 4
    assert len(records) == 3  # the 503 was refused before anything was billed; the three cuts were not
    assert all(r.estimated and r.note == RETRIED_NOTE for r in records)


async def test_a_call_is_priced_by_when_its_request_was_sent_not_when_it_was_first_tried(repo: Path,
                                                                                          fake_api) -> None:
    """A retry after a 429 crosses 01:00 UTC, where DeepSeek's peak price starts: the answer is priced at peak."""
    server = fake_api([Turn(fault="429", retry_after=0.6), Turn(content="answered at peak")])
    agent, pool, _events = make_agent(repo, server.base_url)
    before = dt.datetime(2026, 11, 24, 0, 59, 59, 700_000, tzinfo=dt.UTC)
    agent.clock = lambda: before
    assert (await agent.run("answer")).outcome is Outcome.DONE
    await pool.aclose()
    (record,) = agent.session.ledger.records
    assert record.started_at >= before + dt.timedelta(seconds=0.3)
    assert record.pricing is not None and record.pricing.peak
