"""view_image: ask about an image in the workspace; an image-capable model answers in text."""

from __future__ import annotations

from pydantic import Field

from tools.base import Tool, ToolArgs, ToolContext, ToolError, ToolResult
from tools.images import data_url
from tools.workspace import rel, resolve


class ViewImageArgs(ToolArgs):
    path: str = Field(description="Image file (PNG, JPEG, GIF, WebP) relative to the workspace root.")
    question: str = Field(description="What you need to know about the image.")


class ViewImageTool(Tool):
    name = "view_image"
    Args = ViewImageArgs

    async def run(self, args: ViewImageArgs, ctx: ToolContext) -> ToolResult:
        path = resolve(ctx, args.path, must_exist=True)
        url = data_url(path)
        if ctx.vision is None:
            raise ToolError("no image-capable model is available in this session")
        answer = await ctx.vision(url, args.question)
        return ToolResult(True, answer, data={"path": rel(ctx, path)})
