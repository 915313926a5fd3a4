"""Prompt templates, shipped as package data, and the one function that fills them in.

A template is `prompts/<name>.md`; its blanks are written `{{name}}`. `render` refuses a template whose
blanks are not all given, or values the template has no blank for, so that text and code cannot drift.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

BLANK = re.compile(r"\{\{([a-z_][a-z0-9_]*)\}\}")


class PromptError(KeyError):
    """A template rendered with missing or unused values (a programming error, caught by the tests)."""


@lru_cache(maxsize=256)
def load(name: str) -> str:
    """The raw text of `prompts/<name>.md` (read once: templates are package data, fixed while running)."""
    return resources.files(__name__).joinpath(f"{name}.md").read_text(encoding="utf-8")


def blanks(name: str) -> set[str]:
    """The names of the blanks in a template."""
    return set(BLANK.findall(load(name)))


def names() -> list[str]:
    """Every template's name."""
    return sorted(p.name[:-3] for p in resources.files(__name__).iterdir() if p.name.endswith(".md"))


def render(name: str, **values: object) -> str:
    """Template `name` with each `{{blank}}` replaced by str(value); PromptError on a missing or unused value."""
    text = load(name)
    wanted = set(BLANK.findall(text))
    missing, unused = wanted - values.keys(), values.keys() - wanted
    if missing or unused:
        raise PromptError(f"prompt {name!r}: missing {sorted(missing)}, unused {sorted(unused)}")
    return BLANK.sub(lambda m: str(values[m.group(1)]), text).strip("\n")
