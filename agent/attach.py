"""Images the user attaches (`--image`, `/image`): read, then described once by the vision model so that
text-only models can read what they show."""

from __future__ import annotations

from pathlib import Path

from agent.errors import ConfigError
from agent.loop import Agent
from agent.messages import ImagePart
from prompts import render
from tools.base import ToolError
from tools.images import data_url


async def attach_image(agent: Agent, workspace: Path, raw: str, task: str = "") -> ImagePart:
    """The image at `raw` (relative to the workspace, or absolute) with its description; ConfigError if unusable."""
    path = Path(raw) if Path(raw).is_absolute() else (workspace / raw).resolve()
    if not path.is_file():
        raise ConfigError(f"image {raw}: no such file")
    try:
        url = data_url(path)
    except ToolError as exc:
        raise ConfigError(f"image {raw}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"image {raw}: cannot read it ({exc.strerror})") from None
    about = render("image_description_task", task=task[:500]) if task else ""
    description = await agent.vision.look(url, render("image_description", task=about))
    return ImagePart(data_url=url, description=f"{path.name}: {description}")
