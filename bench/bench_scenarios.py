"""Writes fixtures/fakeapi/scenarios/bench_*.json, the fake models' competence on the duet bench's suite
(fixtures/bench_suite), from one table per task: what the seed articles say, as data.

- DeepSeek V4 (Flash and Pro) executes a clear task right, and writes a plausible wrong fix for an ambiguous one
  unless a plan names the intended behaviour; an escalated DeepSeek model does no better from the brief.
- GPT-5.5 plans right (naming the intent, not the code), drives right (apply_patch, freeform, on the Responses
  API), repairs a wrong fix from an escalation brief, and as reviewer requests changes on a diff missing a case.
- On the edge-case task every DeepSeek driver fixes only the case the failing test shows; the reviewer catches
  the other one (hours) and the driver adds it.

Run: python bench/bench_scenarios.py   (rewrites the JSON files; they are committed)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "fakeapi" / "scenarios"
DEEPSEEK = ["deepseek-v4-flash", "deepseek-v4-pro"]
GPT = ["gpt-5.5"]

TASKS: dict[str, dict[str, Any]] = {
    "calc": dict(key="test_bench_add_sums", file="calc.py", old="    return a - b", right="    return a + b",
                 plan="1. Root cause: add() in calc.py subtracts; test_bench_add_sums gets -1 for 2 + 3. Sure.\n"
                      "2. Files: calc.py (change).\n3. Steps: make add() return the sum; run the tests.\n"
                      "4. Risks: none.", plan_marker="add() in calc.py subtracts", approve="return a + b"),
    "slug": dict(key="test_bench_slug_lower", file="slug.py", old='    return "-".join(text.split())',
                 right='    return "-".join(text.lower().split())',
                 plan="1. Root cause: slugify() in slug.py keeps the case. Sure.\n2. Files: slug.py.\n"
                      "3. Steps: lower-case the words before joining; run the tests.\n4. Risks: none.",
                 plan_marker="slugify() in slug.py keeps the case", approve="text.lower()"),
    "money": dict(key="test_bench_cents_exact", file="money.py", old="    return int(float(amount) * 100)",
                  wrong="    return round(float(amount) * 100)",
                  right='    from decimal import ROUND_HALF_UP, Decimal\n\n'
                        '    return int((Decimal(amount) * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))',
                  plan="1. Root cause: to_cents() goes through float (19.99 * 100 = 1998.99...) and the test wants "
                       "0.125 -> 13, i.e. half-up rounding of the decimal value, not round()'s half-even. "
                       "Fairly sure.\n"
                       "2. Files: money.py.\n3. Steps: compute in decimal.Decimal from the string, quantize to whole "
                       "cents half-up; run the tests.\n4. Risks: round() alone passes 19.99 but gives 12 for 0.125.",
                  plan_marker="half-up rounding of the decimal value", approve="rounding=ROUND_HALF_UP"),
    "settings": dict(key="test_bench_merge_nested", file="settings.py", old="    out.update(override)",
                     wrong="    for key, value in override.items():\n"
                           "        if isinstance(value, dict) and isinstance(out.get(key), dict):\n"
                           "            out[key] = merge(out[key], value)\n"
                           "        elif isinstance(value, list) and isinstance(out.get(key), list):\n"
                           "            out[key] = out[key] + value\n"
                           "        else:\n"
                           "            out[key] = value",
                     right="    for key, value in override.items():\n"
                           "        if isinstance(value, dict) and isinstance(out.get(key), dict):\n"
                           "            out[key] = merge(out[key], value)\n"
                           "        else:\n"
                           "            out[key] = value",
                     plan="1. Root cause: merge() in settings.py replaces a nested table wholesale. The test wants "
                          "a recursive merge of dicts only: an override's list replaces the base list (['b'], not "
                          "['a', 'b']). Fairly sure.\n2. Files: settings.py.\n3. Steps: recurse into dicts only; "
                          "run the tests.\n4. Risks: concatenating lists breaks the second assertion.",
                     plan_marker="recursive merge of dicts only", approve="out[key] = merge(out[key], value)",
                     reject="out[key] + value"),
    "report": dict(key="import name 'format_row'", file="report.py",
                   old='def render(rows):\n    """One line per (name, value) row."""\n'
                       '    return "\\n".join(f"{name}: {value}" for name, value in rows)',
                   right='def format_row(name, value):\n    """One row as text."""\n    return f"{name}: {value}"\n\n\n'
                         'def render(rows):\n    """One line per (name, value) row."""\n'
                         '    return "\\n".join(format_row(name, value) for name, value in rows)',
                   plan="1. Root cause: the test imports format_row from report.py, which does not exist yet. Sure.\n"
                        "2. Files: report.py.\n3. Steps: extract the row formatting out of render() into "
                        "format_row(name, value) and call it from render(); run the tests.\n4. Risks: keep render()'s "
                        "output unchanged.", plan_marker="extract the row formatting out of render()",
                   approve="def format_row"),
    "duration": dict(key="test_bench_duration_minutes", file="duration.py", old='    return int(text.rstrip("s"))',
                     partial='    if text.endswith("m"):\n        return int(text[:-1]) * 60\n'
                             '    return int(text.rstrip("s"))',
                     right='    if text.endswith("h"):\n        return int(text[:-1]) * 3600\n'
                           '    if text.endswith("m"):\n        return int(text[:-1]) * 60\n'
                           '    return int(text.rstrip("s"))',
                     plan="1. Root cause: parse_duration() in duration.py only strips an 's' suffix, so '2m' raises. "
                          "Sure.\n2. Files: duration.py.\n3. Steps: handle the minutes suffix; run the tests.\n"
                          "4. Risks: keep '90s' at 90.", plan_marker="only strips an 's' suffix", approve="* 3600",
                     finding="parse_duration('1h') still raises ValueError: the docstring promises hours and the "
                             "diff handles only minutes; handle the h suffix (3600 seconds)."),
}


def edit(file: str, old: str, new: str) -> list[dict[str, Any]]:
    return [{"name": "read_file", "arguments": {"path": file}},
            {"name": "edit_file", "arguments": {"path": file, "old_string": old, "new_string": new}}]


def patch(file: str, old: str, new: str) -> list[dict[str, Any]]:
    """GPT-5.5's edit: apply_patch, freeform (its one argument's value is the patch text)."""
    lines = [f"-{line}" for line in old.split("\n")] + [f"+{line}" for line in new.split("\n")]
    text = "\n".join(["*** Begin Patch", f"*** Update File: {file}", "@@", *lines, "*** End Patch"]) + "\n"
    return [{"name": "read_file", "arguments": {"path": file}}, {"name": "apply_patch", "arguments": {"patch": text}}]


def done(calls: list[dict[str, Any]], summary: str, reasoning: str = "") -> list[dict[str, Any]]:
    return [{"reasoning": reasoning, "tool_calls": calls}, {"content": summary}]


def rule(turns: list[dict[str, Any]], models: list[str] | None = None, role: str = "", **match: list[str]
         ) -> dict[str, Any]:
    return {"models": models or [], "role": role, **match, "turns": turns}


def scenario(name: str, t: dict[str, Any]) -> dict[str, Any]:
    file, old, right = t["file"], t["old"], t["right"]
    wrong, partial = t.get("wrong"), t.get("partial")
    verdict = {"verdict": "request_changes",
               "findings": [{"severity": "high", "file": file, "message": t.get("finding", "The change does not do "
                             "what the failing test asks; see the plan's root cause.")}]}
    rules = [
        rule([{"content": t["plan"]}], GPT, "plan"),
        rule([{"content": '{"verdict": "approve", "findings": []}'}], GPT, "review", prompt_has=[t["approve"]],
             prompt_lacks=[t["reject"]] if "reject" in t else []),
        rule([{"content": json.dumps(verdict)}], GPT, "review"),
    ]
    if partial:  # the reviewer's requested change, acted on by whichever model drives
        rules.append(rule(done(edit(file, '    if text.endswith("m"):',
                                    '    if text.endswith("h"):\n        return int(text[:-1]) * 3600\n'
                                    '    if text.endswith("m"):'), "Added hours (h = 3600 s), as the review asks."),
                          role="execute", last_user_has=["requests changes"]))
    if wrong:
        rules.append(rule(done(patch(file, wrong, right), "The earlier fix guessed the intent wrong; fixed it."),
                          GPT, "escalate", prompt_has=[wrong.split("\n")[-3 if "\n" in wrong else 0].strip()]))
        rules.append(rule([{"content": "The current change looks right to me; I find nothing more to fix."}],
                          DEEPSEEK, "escalate"))
    rules.append(rule(done(patch(file, old, right), "Fixed it."), GPT, "execute"))
    first = partial or right
    rules.append(rule(done(edit(file, old, first), "Fixed it, as the plan says.", "The plan names the cause."),
                      DEEPSEEK, "execute", prompt_has=[t["plan_marker"]]))
    rules.append(rule(done(edit(file, old, wrong or partial or right), "Fixed it.", "Looks like a small bug."),
                      DEEPSEEK, "execute"))
    description = (f"fix-tests on fixtures/bench_suite/repos/{name} (bench/duet_table.py); written by "
                   "bench/bench_scenarios.py from its table, which says who fares how.")
    return {"name": f"bench_{name}", "description": description, "key": t["key"], "rules": rules}


def main() -> None:
    for name, task in TASKS.items():
        (OUT / f"bench_{name}.json").write_text(json.dumps(scenario(name, task), indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
