"""screenshot: render a URL or a local HTML file with headless Chromium and ask about what it shows."""

from __future__ import annotations

import asyncio
import ipaddress
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import Field

from tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult
from tools.binaries import find_binary
from tools.images import data_url
from tools.spawn import PlainLauncher
from tools.workspace import resolve

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
RENDER_TIMEOUT_S = 60.0
NO_BROWSER = ("screenshots need Chromium, which is not installed (e.g. `apt-get install chromium`); "
              "view_image can look at a saved image instead")
# As root and on a closed network, Chromium needs these to start quickly and quietly; /dev/shm may be
# outside the sandbox's writable set, so shared memory goes to the temp dir.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--disable-dev-shm-usage")
# With the network off the sandbox lets Chromium connect to the target's TCP port only, but on any host (Landlock
# port rules carry no address). Everything but loopback goes to a proxy on a port the sandbox refuses, so a page's
# script cannot reach 192.0.2.2:<that port>; UDP (WebRTC, QUIC, DNS) is refused by the seccomp filter.
LOOPBACK_ONLY = ("--proxy-server=socks5://127.0.0.1:9", "--proxy-bypass-list=<-loopback>;localhost;*.localhost;"
                 "127.0.0.0/8;[::1]")


class ScreenshotArgs(ToolArgs):
    target: str = Field(description="A URL (http://localhost:8000/) or an HTML file relative to the workspace.")
    question: str = Field(description="What you need to know about the rendered page.")
    width: int = Field(default=1280, ge=200, le=4000, description="Viewport width in pixels.")
    height: int = Field(default=800, ge=200, le=4000, description="Viewport height in pixels.")


def find_browser(workspace: Path | None = None) -> str | None:
    """Chromium, never one inside `workspace` (default: the current directory's) or the temp dirs."""
    return next((path for name in BROWSERS if (path := find_binary(name, workspace))), None)


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def checked_url(ctx: ToolContext, target: str, network: bool) -> tuple[str, tuple[int, ...]]:
    """The URL to open and the TCP ports it needs; ToolError for what the model may not look at.

    Files only inside the workspace (never /etc/shadow or ~/.ssh), http(s) only to this machine unless the
    network is on.
    """
    if "://" not in target:
        return resolve(ctx, target, must_exist=True).as_uri(), ()
    parts = urlsplit(target)
    scheme = parts.scheme.lower()
    if scheme == "file":
        root = ctx.root.resolve()
        path = Path(unquote(parts.path)).resolve()
        if path != root and root not in path.parents:
            raise ToolError(f"{target}: file:// URLs must point inside the workspace")
        return resolve(ctx, path.relative_to(root).as_posix(), must_exist=True).as_uri(), ()
    if scheme not in ("http", "https"):
        raise ToolError(f"{target}: only http(s) URLs, file:// URLs inside the workspace, or workspace paths")
    host = parts.hostname or ""
    if not network and not _loopback(host):
        raise ToolError(f"{target}: the network is off; only this machine (localhost) can be opened "
                        "(the user can allow more with --network)")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise ToolError(f"{target}: invalid port") from None
    return target, (port,)


class ScreenshotTool(Tool):
    name = "screenshot"
    Args = ScreenshotArgs

    def available(self, ctx: ToolContext) -> bool:
        return find_browser(ctx.root) is not None

    def unavailable_reason(self) -> str:
        return NO_BROWSER

    async def run(self, args: ScreenshotArgs, ctx: ToolContext) -> ToolResult:
        launcher = ctx.launcher or PlainLauncher()
        url, ports = checked_url(ctx, args.target, launcher.network)
        browser = find_browser(ctx.root)
        if browser is None:
            raise ToolError(NO_BROWSER)
        if ctx.vision is None:
            raise ToolError("no image-capable model is available in this session")
        with tempfile.TemporaryDirectory(prefix="duet-shot-", dir=launcher.scratch) as tmp:
            out = Path(tmp) / "shot.png"
            proc = await launcher.start(
                [browser, *FLAGS, *(() if launcher.network else LOOPBACK_ONLY), f"--user-data-dir={tmp}/profile",
                 f"--window-size={args.width},{args.height}", f"--screenshot={out}", url], cwd=ctx.root,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, connect_ports=ports)
            try:
                _, err = await asyncio.wait_for(proc.communicate(), RENDER_TIMEOUT_S)
            except TimeoutError:
                raise ToolError(f"Chromium did not render {args.target} within {RENDER_TIMEOUT_S:g} s") from None
            finally:
                launcher.finish(proc)
                if proc.returncode is None:
                    await proc.wait()
            if not out.exists():
                tail = (err or b"").decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
                raise ToolError(f"Chromium could not render {args.target}: {tail[0]}")
            image = data_url(out)
        answer = await ctx.vision(image, args.question)
        return ToolResult(True, answer, data={"target": args.target})
