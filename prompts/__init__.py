"""Prompt templates, shipped as package data. Loading them is the only code here."""

from __future__ import annotations

from importlib import resources


def load(name: str) -> str:
    """The text of `prompts/<name>.md`."""
    return resources.files(__name__).joinpath(f"{name}.md").read_text(encoding="utf-8")
