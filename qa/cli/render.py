"""How an Answer looks on a terminal. Plain text when colour is off (NO_COLOR, pipes)."""

from __future__ import annotations

import os

import click

from qa.answer import Answer
from qa.cli.common import bar


def use_colour(stream_isatty: bool) -> bool:
    """Colour only on a terminal that has it, and never with NO_COLOR set (https://no-color.org)."""
    return stream_isatty and not os.environ.get("NO_COLOR") and os.environ.get("TERM", "") != "dumb"


def render(ans: Answer, colour: bool = True) -> str:
    def dim(s: str) -> str:
        return click.style(s, dim=True) if colour else s

    def bold(s: str) -> str:
        return click.style(s, bold=True) if colour else s

    lines: list[str] = []
    if ans.truncated:
        lines.append(dim("(your question was very long; only its start was used)"))
    if ans.status == "answered":
        lines.append(ans.text or dim("(this entry has no answer text)"))
        lines.append(
            dim(f"  {ans.confidence:.0%} {bar(ans.confidence)}  matched: {ans.matched_question}  [{ans.entry_id}]")
        )
    elif ans.status == "ambiguous":
        lines.append(bold("Did you mean:" if ans.lang != "zh" else "您是想问："))
        for i, s in enumerate(ans.suggestions[:2], start=1):
            lines.append(f"  {i}) {s.question}  " + dim(f"[{s.entry_id}] {s.confidence:.0%}"))
    else:
        lines.append(ans.text)
        if ans.suggestions:
            lines.append(dim("Related questions:" if ans.lang != "zh" else "相关问题："))
            for i, s in enumerate(ans.suggestions, start=1):
                lines.append(f"  {i}) {s.question}  " + dim(f"[{s.entry_id}] {s.confidence:.0%}"))
    return "\n".join(lines)
