"""find_symbol: where a name is defined (function, class, method, type), found by tree-sitter."""

from __future__ import annotations

import re

from pydantic import Field

from tools.base import Tool, ToolArgs, ToolContext, ToolResult
from tools.search import SearchArgs, SearchTool
from tools.symbols import LANGUAGE_BY_SUFFIX, definitions
from tools.workspace import resolve

MAX_RESULTS = 50


class FindSymbolArgs(ToolArgs):
    name: str = Field(description="Exact name of the function, class, method or type to find.")


class FindSymbolTool(Tool):
    name = "find_symbol"
    Args = FindSymbolArgs
    runs_in_thread = True
    parallel_safe = True

    async def run(self, args: FindSymbolArgs, ctx: ToolContext) -> ToolResult:
        # A word search narrows the files to parse; tree-sitter then tells definitions from uses.
        hits = await SearchTool().run(SearchArgs(pattern=rf"\b{re.escape(args.name)}\b"), ctx)
        candidates = sorted({line.split(":", 1)[0] for line in hits.output.splitlines() if ":" in line
                             and not line.startswith("[")})
        results: list[str] = []
        for relative in candidates:
            lang = LANGUAGE_BY_SUFFIX.get("." + relative.rsplit(".", 1)[-1]) if "." in relative else None
            if not lang:
                continue
            source = resolve(ctx, relative).read_bytes()
            results += [f"{relative}:{d.line}: {d.kind} {d.name}" for d in definitions(source, lang)
                        if d.name == args.name]
        text = "\n".join(results[:MAX_RESULTS]) if results else f"no definition of {args.name!r} found"
        return ToolResult(True, text, data={"count": len(results)})
