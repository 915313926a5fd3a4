"""The vision sidecar: an image-capable model answers a question about an image, as text for the driver."""

from __future__ import annotations

from agent.errors import DuetError
from agent.events import StepRouted
from agent.messages import ImagePart, Message, SystemMessage, UserMessage
from agent.modelcall import ModelCaller
from agent.providers.errors import ProviderError
from agent.router import Router
from agent.session import Session
from prompts import render


class Vision:
    def __init__(self, session: Session, router: Router, calls: ModelCaller) -> None:
        self.session, self.router, self.calls = session, router, calls

    async def look(self, image_url: str, question: str) -> str:
        """The answer about the image; a failure is an error text the driver can read, never an exception."""
        route = self.router.vision()
        self.session.emit(StepRouted(kind="vision", model=route.model, reason=route.reason, role="vision"))
        messages: list[Message] = [SystemMessage(content=render("vision_system")),
                                   UserMessage(content=question, images=(ImagePart(data_url=image_url),))]
        try:
            result = await self.calls.call(route.model, messages, role="vision", reason=route.reason)
        except ProviderError as exc:
            return f"error: the image could not be examined ({route.model}: {exc})"
        except DuetError as exc:  # no key for any image-capable model
            return f"error: no image-capable model is available: {exc}"
        return result.message.content or "(the vision model gave no answer)"
