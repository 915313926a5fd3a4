"""What `--route auto` decided for a run, as the result JSON carries it (a light module: pydantic only)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

TagSource = Literal["flag", "task", "classified", "none"]


class RouteChoice(BaseModel):
    """The profile `auto` chose for this run, and on what grounds."""

    profile: str = Field(description="The routing profile the run used.")
    reason: str
    tag: str | None = Field(default=None, description="The task's tag the choice was made for.")
    tag_source: TagSource = Field(default="none", description="--tag (flag), the eval task (task), the "
                                                              "classification call (classified), or none.")
    policy: str | None = Field(default=None, description="The routing policy file followed (null: none found).")
    classify_model: str | None = Field(default=None, description="The model of the classification call, if made.")
    classify_usd_exact: str | None = Field(default=None, description="What the classification call cost.")
