"""Duet's TUI: a thin view over the agent's event stream. It imports no provider and opens no connection."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widget import MountError
from textual.widgets import Collapsible, Footer, Label
from textual.worker import Worker, WorkerState

from agent.approval import ApprovalRequest, Decision
from agent.approval_preview import preview
from agent.assembly import SessionSpec
from agent.cli.sessions import session_lines
from agent.errors import DuetError
from agent.events import Event, RunFinished
from agent.interactive import Interactive, Launch
from agent.runtime import check_keys
from agent.transcript import find_session
from agent.views.spend import SpendFold
from tui import gc_pause
from tui.approval import ApprovalScreen
from tui.commands import Command, parse
from tui.conversation import ConversationView
from tui.picker import SessionPicker
from tui.prompt import PromptInput
from tui.question import QuestionScreen
from tui.queue import QueuedInput
from tui.slash import IMMEDIATE, SlashAction, SlashLine, run_slash
from tui.spend import SpendBar, SpendPanel
from tui.trust import TrustScreen

QUIT_WINDOW_S = 2.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class AgentEvent(Message):
    """An event from the agent, delivered to the app's message queue."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class DuetApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "Duet"
    AUTO_FOCUS = "#prompt"  # typing goes to the input from the first frame
    ENABLE_COMMAND_PALETTE = False  # slash commands are the palette; the footer keeps its room at 80 columns
    # Under 100 columns the spend panel folds into a one-line bar (see app.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012 (App declares it an instance var)
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+c", "interrupt", "interrupt", priority=True),
                Binding("shift+tab", "cycle_approval", "approval", priority=True),
                Binding("ctrl+t", "toggle_theme", "theme"),
                Binding("ctrl+o", "toggle_details", "details"),
                Binding("ctrl+q", "quit", "quit", show=False)]

    def __init__(self, make_session: Any, launch: Launch | None = None) -> None:
        """`make_session(sink, ask, resume)` builds the Interactive session (an agent-side factory)."""
        super().__init__()
        self._make = make_session
        self._launch = launch or Launch()
        self.duet: Interactive | None = None
        self._last_interrupt = 0.0
        self.spend = SpendFold()
        """The spend panel's fold of the event stream (rebuilt from the transcript on resume)."""
        self._paths: list[str] | None = None
        self._indexing = False
        self.queue: list[str] = []
        self.stopped_by: int | None = None
        self.gc_control = False
        """Time garbage collection to the stream (tui.gc_pause); on in a real terminal, off in tests by default."""

    def compose(self) -> ComposeResult:
        with Vertical(id="main"):
            yield ConversationView(id="conversation")
            yield QueuedInput(id="queued")
            yield Label("", id="hint")
            yield PromptInput(self._workspace_paths, id="prompt")
            yield SpendBar(id="spend-bar")
            yield Footer()
        yield SpendPanel(id="spend")

    async def on_mount(self) -> None:
        self.gc_control = self.gc_control or not self.is_headless
        self.view.settled = self._part_settled
        self._q(QueuedInput).show([])
        self.duet = self._make(self._on_event, self._ask, None)
        self.spend = SpendFold.for_config(self.duet.config)
        if self.duet.past:
            await self._replay(self.duet.past)
        else:
            route = self.duet.config.model or f"routing: {self.duet.config.route}"
            await self.view.add_line(f"Duet in {self.duet.workspace.name} ({route}). Type a task; /help lists "
                                     "commands; Shift+Tab changes the approval mode.")
        self._refresh_spend()
        self.show_approval()
        self._q(PromptInput).focus()
        self.sub_title = str(self.duet.workspace)
        self._catch_stop_signals()
        question = self.duet.trust_question()
        if question:  # asked once: trusting records the file's hash, so the question returns only if it changes
            self.push_screen(TrustScreen(question, self.duet.config.approval), callback=self._trust_answered)
        if self._launch.prompt or self._launch.images:
            self._start(self._launch)

    def _q(self, selector: Any, expect: Any = None) -> Any:
        """A widget of the main screen, found even while a modal screen is on top."""
        main = self.screen_stack[0]
        return main.query_one(selector) if expect is None else main.query_one(selector, expect)

    @property
    def view(self) -> ConversationView:
        return self.screen_stack[0].query_one(ConversationView)  # the main screen, even under a modal

    async def _trust_answered(self, trusted: bool | None) -> None:
        if trusted and self.duet is not None:
            await self.view.add_line(self.duet.trust_project())

    async def _replay(self, events: list[Event]) -> None:
        """Show a stored session: its conversation and its spend, from its events alone."""
        if self.duet is not None:
            self.spend = SpendFold.for_config(self.duet.config)
        for event in events:
            self.spend.apply(event)
            await self.view.apply(event)
        await self.view.settle_unfinished()  # a run killed mid-call: that call never ends
        self._refresh_spend()

    # events, up from the agent
    def _on_event(self, event: Event) -> None:
        self.post_message(AgentEvent(event))  # thread-safe: tools in worker threads report here too

    async def on_agent_event(self, message: AgentEvent) -> None:
        if not self.screen_stack:  # closing: the transcript has the event
            return
        event = message.event
        changed = self.spend.apply(event)
        try:
            await self.view.apply(event)
        except MountError:  # the app is closing (/quit while the end-of-run checkpoint finishes): nothing to show
            return
        if changed:
            self._refresh_spend()

    def refresh_spend(self) -> None:
        self._refresh_spend()

    def _refresh_spend(self) -> None:
        if self.screen_stack:
            main = self.screen_stack[0]
            main.query_one(SpendPanel).show(self.spend)
            main.query_one(SpendBar).show(self.spend)

    # input, down to the agent
    async def on_prompt_input_submitted(self, message: PromptInput.Submitted) -> None:
        command = parse(message.text)
        if self.busy() and not (command is not None and command.name in IMMEDIATE):
            self.queue.append(message.text)
            self._q(QueuedInput).show(self.queue)
            what = f"{command.name} waits until" if command is not None else "queued; it is sent when"
            self.hint(f"{what} the turn ends (Esc takes it back)")
            return
        await self._run(message.text, command)

    async def _run(self, text: str, command: Command | None) -> None:
        if command is not None:
            assert self.duet is not None
            await run_slash(command, self.duet, self.post_message)
        else:
            self._send(text)

    async def on_slash_line(self, message: SlashLine) -> None:
        await self.view.add_line(message.text, message.style)

    async def on_slash_action(self, message: SlashAction) -> None:
        """What a slash command asks of the app itself."""
        duet, action, arg = self.duet, message.action, message.argument
        assert duet is not None
        try:
            if action == "quit":
                await self.action_quit()
            elif action == "approval":
                question = self.question_open()
                if arg and question is not None:
                    question.refuse_mode_change()
                elif arg:
                    duet.set_approval(arg, busy=self.busy())
                    self.show_approval()
                await self.view.add_line(f"approval: {duet.config.approval} (Shift+Tab cycles ask, auto-edit, "
                                         "full-auto, read-only)", "route")
            elif action == "image":
                self.run_worker(self._attach_image(arg), group="agent")
            elif action == "compact":
                self.run_worker(self._compact(), group="agent")
            elif action == "clear":
                await self.view.remove_children()
            elif action == "resume":
                await self._resume(arg or None)
            elif action == "done":
                self.refresh_spend()
        except DuetError as exc:
            await self.view.add_line(f"/{action}: {exc}", "error")

    async def _attach_image(self, path: str) -> None:
        assert self.duet is not None
        try:
            name = await self.duet.attach_image(path)
            await self.view.add_line(f"{name} will go with your next message")
        except DuetError as exc:
            await self.view.add_line(f"/image: {exc}", "error")

    async def _compact(self) -> None:
        assert self.duet is not None
        try:
            line = await self.duet.compact()
        except DuetError as exc:  # no key for the summary model: a line, never an exception out of the worker
            line = f"/compact: {exc}"
        if line:
            await self.view.add_line(line, "error" if "/compact" in line else "")

    async def _resume(self, session_id: str | None) -> None:
        """`/resume ID` reopens that session; `/resume` alone opens the picker of this workspace's sessions."""
        assert self.duet is not None
        if session_id is None:
            lines = session_lines(self.duet.workspace)
            if not lines:
                raise DuetError("no session to resume in this workspace")
            self.push_screen(SessionPicker(lines), callback=self._picked)
            return
        path = find_session(self.duet.workspace, session_id)
        if path is None:
            raise DuetError("no such session")
        mode = self.duet.config.approval  # the mode the user is in stays: a resume changes the conversation only
        await self.duet.aclose()
        self.duet = self._make(self._on_event, self._ask, path)
        if self.duet.config.approval != mode:
            self.duet.set_approval(mode)
        await self.view.remove_children()
        await self._replay(self.duet.past)
        self.show_approval()

    async def _picked(self, session_id: str | None) -> None:
        if session_id is None:
            self.hint("resume cancelled")
            return
        try:
            await self._resume(session_id)
        except DuetError as exc:
            await self.view.add_line(f"/resume: {exc}", "error")

    def on_prompt_input_hint(self, message: PromptInput.Hint) -> None:
        self.hint(message.text)

    def on_prompt_input_scroll(self, message: PromptInput.Scroll) -> None:
        self.view.scroll_page_down() if message.pages > 0 else self.view.scroll_page_up()

    def on_prompt_input_take_back(self, message: PromptInput.TakeBack) -> None:
        if not self.queue:
            return
        prompt = self._q(PromptInput)
        taken = self.queue.pop()
        prompt.load_text(taken + (f"\n{prompt.text}" if prompt.text.strip() else ""))
        prompt.move_cursor(prompt.document.end)
        self._q(QueuedInput).show(self.queue)
        self.hint("taken back from the queue")

    def hint(self, text: str) -> None:
        self._q("#hint", Label).update(text)

    def busy(self) -> bool:
        return any(w.group == "agent" and not w.is_finished for w in self.workers)

    def _part_settled(self) -> None:
        if self.gc_control:
            gc_pause.hold_back()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "agent" and event.worker.is_finished and not self.busy():
            if self.gc_control:
                gc_pause.collect_now()
            if event.state == WorkerState.SUCCESS:
                self.call_later(self._drain)

    async def _drain(self) -> None:
        """The turn ended: send what was queued, in order, until something starts a new turn."""
        while self.queue and not self.busy():
            text = self.queue.pop(0)
            self._q(QueuedInput).show(self.queue)
            await self._run(text, parse(text))

    @work(group="agent")
    async def _start(self, launch: Launch) -> None:
        """`agent "prompt" --image x.png`: attach the images, then start on the prompt."""
        assert self.duet is not None
        for raw in launch.images:
            try:
                name = await self.duet.attach_image(raw)
                await self.view.add_line(f"attached {name}")
            except DuetError as exc:
                await self.view.add_line(f"error: {exc}", "error")
                if launch.prompt:  # not sent without its image; kept in the input to edit or send
                    self._q(PromptInput).load_text(launch.prompt)
                return
        if launch.prompt:
            await self._turn(launch.prompt)

    @work(group="agent")
    async def _send(self, text: str) -> None:
        await self._turn(text)

    async def _turn(self, text: str) -> None:
        assert self.duet is not None
        self.hint("working… (Ctrl+C interrupts; what you type now is queued)")
        try:
            run = await self.duet.send(text)
            self.hint(f"{run.outcome.value}")
        except DuetError as exc:
            self.hint("")
            await self.view.add_line(f"error: {exc}", "error")
        except asyncio.CancelledError:
            await self.view.interrupted()
            raise
        finally:
            self.spend.settle()
            self._refresh_spend()

    async def _ask(self, request: ApprovalRequest) -> Decision:
        assert self.duet is not None
        cwd = self.duet.session.tool_context.start_dir or self.duet.workspace
        shown = await asyncio.to_thread(preview, request, self.duet.workspace, cwd)  # reads the file off the loop
        return await self.push_screen_wait(ApprovalScreen(request, shown, self.duet.config.approval))

    def _workspace_paths(self) -> list[str] | None:
        """The `@path` index: built on first use, in a thread, bounded; None while it is being built."""
        if self._paths is None and not self._indexing and self.duet is not None:
            self._indexing = True
            self._index_paths()
        return self._paths

    @work(thread=True, group="index")
    def _index_paths(self) -> None:
        assert self.duet is not None
        paths = self.duet.workspace_paths()
        self.call_from_thread(self._paths_ready, paths)

    def _paths_ready(self, paths: list[str]) -> None:
        self._paths, self._indexing = paths, False
        self._q(PromptInput).complete_again()

    # keys
    def action_interrupt(self) -> None:
        now = time.monotonic()
        if self.busy() and now - self._last_interrupt > QUIT_WINDOW_S:
            self._stop_turn()
            self.hint("interrupted; the session is kept (Ctrl+C again to quit)")
            self._last_interrupt = now
            return
        if now - self._last_interrupt <= QUIT_WINDOW_S:
            self.exit(0)
            return
        self._last_interrupt = now
        self.hint("press Ctrl+C again to quit")

    def _stop_turn(self) -> None:
        """Cancel the turn and leave a clean screen: no modal left open, the queue back in the input."""
        if isinstance(self.screen, ApprovalScreen):
            self.screen.dismiss(Decision(False, "interrupted by the user"))
        self.workers.cancel_group(self, "agent")
        if self.queue:  # not sent into a turn the user just stopped: back in the input, nothing lost
            prompt = self._q(PromptInput)
            prompt.load_text("\n".join([*self.queue, *([prompt.text] if prompt.text.strip() else [])]))
            prompt.move_cursor(prompt.document.end)
            self.queue.clear()
            self._q(QueuedInput).show(self.queue)

    def question_open(self) -> QuestionScreen[Any] | None:
        """The question (approval, trust) on screen, if one is: the approval mode stays as it says meanwhile."""
        return next((s for s in self.screen_stack if isinstance(s, QuestionScreen)), None)

    def action_cycle_approval(self) -> None:
        if self.duet is None:
            return
        question = self.question_open()
        if question is not None:  # the open question was asked under this mode; it stays until answered
            question.refuse_mode_change()
            return
        try:
            self.duet.set_approval(self.duet.next_approval(), busy=self.busy())
        except DuetError:  # read-only is next and a command may run: skip to the mode after it
            self.duet.set_approval("ask")
        self.show_approval()
        self.hint(f"approval: {self.duet.config.approval}")

    def show_approval(self) -> None:
        """The approval mode, in the footer beside the key that changes it."""
        if self.duet is None:
            return
        self._bindings.key_to_bindings["shift+tab"] = [
            Binding("shift+tab", "cycle_approval", f"approval: {self.duet.config.approval}", priority=True)]
        self.refresh_bindings()

    def action_toggle_details(self) -> None:
        """Expand every tool call (not reasoning), or collapse them all (no mouse needed)."""
        blocks = list(self.view.query(".tool").results(Collapsible))
        expand = any(block.collapsed for block in blocks)
        for block in blocks:
            block.collapsed = not expand

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    async def action_quit(self) -> None:
        self.workers.cancel_group(self, "agent")
        self.exit(0)

    # SIGTERM / SIGHUP: stop like headless runs do (children killed, run.finished written, 128 + signal)
    def _catch_stop_signals(self) -> None:
        if self.is_headless:  # tests run many apps in one process: its signals stay its own
            return
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            try:
                loop.add_signal_handler(signum, self.call_later, self._stop_by_signal, signum)
            except (NotImplementedError, RuntimeError, ValueError):
                pass

    async def _stop_by_signal(self, signum: int) -> None:
        if self.stopped_by is not None:
            return
        self.stopped_by = signum
        self._stop_turn()
        agent_workers = [w for w in self.workers if w.group == "agent"]
        try:
            async with asyncio.timeout(5):  # the turn's own cleanup: pending calls answered, usage recorded
                while any(not w.is_finished for w in agent_workers):
                    await asyncio.sleep(0.02)
        except TimeoutError:
            pass
        code = 128 + signum  # the shell convention: 143 for SIGTERM, 129 for SIGHUP
        if self.duet is not None:
            self.duet.session.launcher.finish_all()
            self.duet.session.emit(RunFinished(outcome="interrupted", exit_code=code,
                                               message=f"stopped by {signal.Signals(signum).name}"))
        self.exit(code, return_code=code)

    async def on_unmount(self) -> None:
        if not self.is_headless:
            loop = asyncio.get_running_loop()
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)
        if self.duet is not None:
            await self.duet.aclose()


def run_tui(workspace: Path, resume: Path | None = None, overrides: dict[str, Any] | None = None,
            launch: Launch | None = None) -> int:
    """Start the TUI on `workspace` (optionally resuming a stored session) with the command line's settings;
    when it closes, print the session id, how to resume it, and what it cost."""
    from agent.config import load_config

    launch = launch or Launch()
    from agent.routing.auto import route_without_task

    config = route_without_task(load_config(workspace, overrides), workspace)  # auto: no task to tag yet
    first = [resume]

    def make(sink, ask, path):  # type: ignore[no-untyped-def]
        chosen = path if path is not None else first.pop() if first else None
        return Interactive(SessionSpec(workspace, config, start_dir=launch.start_dir, resume=chosen), sink, ask)

    # Fail before the screen opens (missing key, bad config): one clear line, like every other command.
    check_keys(config)
    app = DuetApp(make, launch)
    app.run()
    if app.duet is not None:
        try:
            print("\n".join(app.duet.farewell()))
        except OSError:  # the terminal went away (SIGHUP): the transcript has it all
            pass
    return app.return_code or 0
