"""A session: its conversation, ledger, transcript, checkpoint and tool context, in one place."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from agent.checkpoint import Checkpoint
from agent.config import Config
from agent.duetdir import foreign_duet_warning
from agent.events import (
    SCHEMA_VERSION,
    Event,
    Item,
    ItemCompleted,
    Notice,
    SessionStarted,
    ToolFinished,
    ToolStarted,
    UserMessageEvent,
)
from agent.history import rebuild, unfinished_result
from agent.messages import AssistantMessage, ImagePart, Message, ToolMessage, UserMessage
from agent.readset import restore
from agent.redact import Redactor, redact_event
from agent.repo.known import KnownRepos
from agent.sandbox.launcher import SandboxLauncher
from agent.sandbox.nested_git import nested_git
from agent.sandbox.policy import SandboxPolicy
from agent.spend.ledger import Ledger
from agent.transcript import TranscriptWriter, new_session_id, read_transcript, sessions_dir, state_write_error
from tools.base import ToolContext

if TYPE_CHECKING:
    from agent.mcp.manager import McpManager

EventSink = Callable[[Event], None]


class Session:
    """Everything one conversation owns. Events go to the transcript first, then to the front end."""

    def __init__(self, workspace: Path, config: Config, *, sink: EventSink | None = None,
                 session_id: str | None = None, redactor: Redactor | None = None,
                 start_dir: Path | None = None) -> None:
        self.workspace = workspace.resolve()
        self.config = config
        # Before any command can run: commands may write here from now on, so a repository that appears here
        # later is not Duet's to run git in (agent.repo.known).
        known = KnownRepos()
        try:
            self.repo_warnings = known.watch(self.workspace, lambda: (
                self.workspace / p for p in nested_git(self.workspace)))
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT):
                raise state_write_error("Duet's record of repositories", known.path, exc) from None  # a full disk
            # A read-only HOME (some CI containers): the session goes on, and says what it cannot promise.
            self.repo_warnings = [f"cannot write {known.path} ({exc.strerror}): a repository a command creates in "
                                  "this workspace will not be known as untrusted by later sessions"]
        self.id = session_id or new_session_id()
        self.messages: list[Message] = []
        self.ledger = Ledger()
        self.turns = 0
        """Turns so far: one per user prompt (a task, a follow-up, a fix-tests round)."""
        self.model_calls = 0
        """Model calls so far, of every role: `call.started` numbers them."""
        self._notices = 0
        self.files_changed: dict[str, str] = {}
        self._sinks: list[EventSink] = [sink] if sink else []
        self._started: set[str] = set()
        # Collected once, at the start of the run, before anything is written or sent.
        self.redact = redactor or Redactor.for_run(self.workspace, config.secret_file_list(),
                                                   key_variables=[p.api_key_env for p in config.providers.values()])
        self.transcript = TranscriptWriter(sessions_dir(self.workspace) / f"{self.id}.jsonl", self.redact)
        self.checkpoint = Checkpoint(self.workspace, self.id,
                                     lambda text: self.emit(Notice(level="warning", message=text)),
                                     config.secret_file_list())
        self.launcher = SandboxLauncher(SandboxPolicy.from_config(config, self.workspace, os.environ))
        self.mcp: McpManager | None = None
        """The session's MCP servers (started by the runtime when config names some)."""
        self.tool_context = ToolContext(root=self.workspace, start_dir=start_dir,
                                        shell_timeout_s=config.shell_timeout_s, secret_files=config.secret_file_list(),
                                        before_change=self.checkpoint.ensure, write_guard=self.checkpoint,
                                        launcher=self.launcher, redact=self.redact)
        """What tools get: immutable, built here; a new launcher (a read-only switch) or the vision sidecar (when
        the agent is assembled) gives the session a new value, never an edited one."""

    @classmethod
    def resume(cls, workspace: Path, config: Config, transcript: Path, *,
               sink: EventSink | None = None, start_dir: Path | None = None) -> Session:
        """Continue a stored session: same id, same transcript, history and spend restored."""
        history = rebuild(read_transcript(transcript))
        session = cls(workspace, config, sink=sink, session_id=transcript.stem, start_dir=start_dir)
        session.messages = history.messages
        session.ledger = history.ledger
        session.turns = history.turns
        session.model_calls = history.model_calls
        restore(session.tool_context.read_stamps, history.read_stamps, session.workspace)
        return session

    def emit(self, event: Event) -> None:
        """The one way out for events: redacted here, then stored and shown (terminal, JSON, TUI)."""
        event = redact_event(event, self.redact)
        if isinstance(event, ToolStarted):
            self._started.add(event.call_id)
        self.transcript.write(event)
        for sink in self._sinks:
            sink(event)
        if isinstance(event, Notice):  # schema 2: a notice is also an item of the turn
            self._notices += 1
            item = Item(id=f"notice{self._notices}", kind="notice", status="completed", text=event.message)
            self.emit(ItemCompleted(turn=self.turns, item=item))

    def start(self, command: str, task: str, *, resumed: bool = False) -> None:
        self.emit(SessionStarted(session_id=self.id, workspace=str(self.workspace), command=command, task=task,
                                 resumed=resumed, schema_version=SCHEMA_VERSION, approval=self.config.approval,
                                 budget_usd=None if self.config.max_cost is None else str(self.config.max_cost)))
        for warning in (*self.config.warnings, *self.repo_warnings, *foreign_duet_warning(self.workspace)):
            self.emit(Notice(level="warning", message=warning))
        info = self.launcher.info()
        if not info.active:  # said once, at the start, and kept in the transcript
            self.emit(Notice(level="warning", message=info.summary()))

    def add_user(self, content: str, images: tuple[ImagePart, ...] = ()) -> None:
        content = self.redact(content)
        self.messages.append(UserMessage(content=content, images=images))
        # The transcript keeps what each image showed, not its bytes.
        self.emit(UserMessageEvent(content=content, images=[img.description for img in images]))

    def close_pending_calls(self) -> None:
        """Answer tool calls left without a result (after an interrupt), keeping the history valid."""
        last = next((i for i in range(len(self.messages) - 1, -1, -1)
                     if isinstance(self.messages[i], AssistantMessage)), None)
        if last is None:
            return
        message = self.messages[last]
        assert isinstance(message, AssistantMessage)
        answered = {m.tool_call_id for m in self.messages[last + 1:] if isinstance(m, ToolMessage)}
        for call in message.tool_calls:
            if call.id not in answered:
                result = unfinished_result(call.id, self._started)
                self.messages.append(ToolMessage(tool_call_id=call.id, name=call.name, content=result))
                self.emit(ToolFinished(call_id=call.id, name=call.name, ok=False, output=result))

    def close(self) -> None:
        if self.mcp is not None:  # no server process outlives the session
            self.mcp.close()
        self.launcher.finish_all()
        self.launcher.close()
        self.transcript.close()
