"""shell: run a bash command in the workspace root, bounded in time and memory, stdin closed."""

from __future__ import annotations

import asyncio
import os
import time

from pydantic import Field

from tools.base import Preview, Tool, ToolArgs, ToolContext, ToolResult
from tools.binaries import find_binary
from tools.effects import Exec
from tools.output_buffer import HeadTailBuffer, head_tail
from tools.spawn import PlainLauncher

MODEL_OUTPUT_CHARS = 30_000
DRAIN_GRACE_S = 1.0


class ShellArgs(ToolArgs):
    command: str = Field(description="A bash command.")
    timeout_s: float | None = Field(default=None, gt=0, le=3600,
                                    description="Seconds before the command is killed (default 120).")


class ShellTool(Tool):
    name = "shell"
    Args = ShellArgs
    mutates = True

    def effect(self, args: ShellArgs, ctx: ToolContext) -> Exec:
        return Exec(("bash", "-c", args.command), str(ctx.start_dir or ctx.root))

    def preview(self, args: ShellArgs, ctx: ToolContext) -> Preview:
        return Preview("command", args.command, str(ctx.start_dir or ctx.root))

    async def run(self, args: ShellArgs, ctx: ToolContext) -> ToolResult:
        timeout = args.timeout_s or ctx.shell_timeout_s
        buf = HeadTailBuffer()
        started = time.monotonic()
        # Our own pipe, not asyncio's: asyncio's wait() would also wait for every background child
        # holding the pipe open, so `server &` would block until the timeout.
        launcher = ctx.launcher or PlainLauncher()
        read_fd, write_fd = os.pipe()
        try:
            # Its own process group (so a timeout kills children too), inside the sandbox when there is one.
            bash = find_binary("bash", ctx.root) or "bash"  # never a bash the workspace could have planted
            proc = await launcher.start([bash, "-c", args.command], cwd=ctx.start_dir or ctx.root,
                                        stdout=write_fd, stderr=write_fd)
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        reader = asyncio.StreamReader()
        transport, _ = await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", 0))
        pump = asyncio.create_task(_pump(reader, buf))
        timed_out = False
        try:
            await asyncio.wait_for(proc.wait(), timeout)
            # Background children may hold the pipe open; give them a moment, then stop them.
            await asyncio.wait_for(asyncio.shield(pump), DRAIN_GRACE_S)
        except TimeoutError:
            timed_out = proc.returncode is None
        finally:
            launcher.finish(proc)
            if proc.returncode is None:
                await proc.wait()
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)
            transport.close()
        elapsed = time.monotonic() - started
        code = proc.returncode if not timed_out else -9
        output = head_tail(ctx.redact(buf.text()), MODEL_OUTPUT_CHARS)
        status = (f"timed out after {timeout:g} s; the command and its children were killed"
                  if timed_out else f"exit code {code}")
        text = f"{output.rstrip()}\n[{status}]" if output.strip() else f"[{status}, no output]"
        if note := launcher.note(output):
            text += f"\n{note}"
        return ToolResult(not timed_out and code == 0, text,
                          data={"command": args.command, "exit_code": code, "timed_out": timed_out,
                                "duration_s": round(elapsed, 3), "output_bytes": buf.total})


async def _pump(stream: asyncio.StreamReader, buf: HeadTailBuffer) -> None:
    while chunk := await stream.read(65536):
        buf.write(chunk)
