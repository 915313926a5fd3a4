"""The bytes a file tool will write, planned before anything is written: the same plan makes the approval's
preview and the write, so what is approved is byte for byte what is written."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from tools.base import FileChange, Preview, ToolError
from tools.diffs import change


@dataclass(frozen=True)
class FilePlan:
    """One file: its bytes and text now (None: absent) and after the call (None: deleted)."""

    path: str
    """Relative to the workspace root, as the diff names it."""
    before: bytes | None
    after: bytes | None
    before_text: str | None
    after_text: str | None

    def change(self) -> FileChange:
        return change(self.path, self.before_text, self.after_text)

    def basis(self) -> tuple[str, str, str]:
        return self.path, _digest(self.before), _digest(self.after)


def _digest(data: bytes | None) -> str:
    return "-" if data is None else hashlib.sha256(data).hexdigest()


def diff_preview(plans: Iterable[FilePlan]) -> Preview:
    """The approval's view of `plans`: their unified diffs, exactly as the tool's result will report them."""
    plans = list(plans)
    return Preview("diff", "".join(p.change().diff for p in plans), basis=tuple(p.basis() for p in plans))


def check_previewed(plans: Iterable[FilePlan], previewed: Preview | None) -> None:
    """ToolError, before anything is written, when `plans` are not what `previewed` showed (a file changed in
    between); nothing to check when no one was asked."""
    if previewed is None:
        return
    now = {p.path: p.basis() for p in plans}
    then = {b[0]: b for b in previewed.basis}
    for path in {*now, *then}:
        if now.get(path) != then.get(path):
            raise ToolError(f"{path} changed since it was previewed for approval; nothing was written. Read it "
                            "again and retry the edit")
