"""screenshot: render a URL or a local HTML file with headless Chromium and ask about what it shows."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from pydantic import Field

from tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult
from tools.images import data_url
from tools.workspace import resolve

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
RENDER_TIMEOUT_S = 60.0
# As root and on a closed network, Chromium needs these to start quickly and quietly.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars")


class ScreenshotArgs(ToolArgs):
    target: str = Field(description="A URL (http://localhost:8000/) or an HTML file relative to the workspace.")
    question: str = Field(description="What you need to know about the rendered page.")
    width: int = Field(default=1280, ge=200, le=4000, description="Viewport width in pixels.")
    height: int = Field(default=800, ge=200, le=4000, description="Viewport height in pixels.")


def find_browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


class ScreenshotTool(Tool):
    name = "screenshot"
    Args = ScreenshotArgs

    async def run(self, args: ScreenshotArgs, ctx: ToolContext) -> ToolResult:
        browser = find_browser()
        if browser is None:
            raise ToolError("screenshots need Chromium, which is not installed (e.g. `apt-get install chromium`); "
                            "view_image can look at a saved image instead")
        if ctx.vision is None:
            raise ToolError("no image-capable model is available in this session")
        url = args.target if "://" in args.target else resolve(ctx, args.target, must_exist=True).as_uri()
        with tempfile.TemporaryDirectory(prefix="duet-shot-") as tmp:
            out = Path(tmp) / "shot.png"
            proc = await asyncio.create_subprocess_exec(
                browser, *FLAGS, f"--user-data-dir={tmp}/profile", f"--window-size={args.width},{args.height}",
                f"--screenshot={out}", url, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE)
            try:
                _, err = await asyncio.wait_for(proc.communicate(), RENDER_TIMEOUT_S)
            except TimeoutError:
                proc.kill()
                raise ToolError(f"Chromium did not render {args.target} within {RENDER_TIMEOUT_S:g} s") from None
            if not out.exists():
                tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
                raise ToolError(f"Chromium could not render {args.target}: {tail[0]}")
            image = data_url(out)
        answer = await ctx.vision(image, args.question)
        return ToolResult(True, answer, data={"target": args.target})
