"""The built-in help: every command documents itself with examples, and the examples are valid commands."""

from __future__ import annotations

import re
import shlex

import click
import pytest
from click.testing import CliRunner

from qa.cli import cli

COMMANDS = sorted(cli.commands)


def run_help(*args: str):  # noqa: ANN201 - a click Result
    return CliRunner().invoke(cli, [*args, "--help"], prog_name="qa", catch_exceptions=False)


def examples(help_text: str) -> list[str]:
    """The indented lines after 'Example:' in a docstring."""
    lines = help_text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("Example"))
    out = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        out.append(line.strip())
    return out


def qa_invocations(example: str) -> list[list[str]]:
    """Each `qa ...` command in a shell example line, as argv after `qa`."""
    out = []
    for part in re.split(r"&&|\|\||\|", example):
        part = part.split(" #", 1)[0].strip()
        words = shlex.split(part)
        if words and words[0] == "qa":
            out.append(words[1:])
    return out


def test_there_are_commands():
    assert {"ask", "chat", "import", "index", "list", "show", "stats", "models"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_command_help_has_an_example(name):
    help_text = cli.commands[name].help or ""
    assert "Example" in help_text, f"`qa {name} --help` has no Example section"
    assert examples(help_text), f"`qa {name} --help` has an empty Example section"


@pytest.mark.parametrize("name", COMMANDS)
def test_command_help_exits_0(name):
    r = run_help(name)
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"Usage: qa {name}")
    assert "Example" in r.output
    for param in cli.commands[name].params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help, f"qa {name} {param.opts[0]} has no help text"
            assert param.opts[-1] in r.output


def test_short_help_flag():
    r = CliRunner().invoke(cli, ["ask", "-h"], prog_name="qa")
    assert r.exit_code == 0 and r.output.startswith("Usage: qa ask")


def test_top_level_help_lists_every_command():
    r = run_help()
    assert r.exit_code == 0, r.output
    listed = r.output.split("Commands:", 1)[1]
    for name in COMMANDS:
        assert re.search(rf"^\s+{re.escape(name)}\s", listed, re.M), f"`qa --help` does not list {name}"
    assert "Example" in r.output


def test_version():
    r = CliRunner().invoke(cli, ["--version"], prog_name="qa")
    assert r.exit_code == 0
    assert re.search(r"\d+\.\d+", r.output)


@pytest.mark.parametrize("name", [None, *COMMANDS])
def test_examples_are_valid_commands(name):
    """Every `qa ...` in an Example names a real command and parses with its options."""
    help_text = (cli if name is None else cli.commands[name]).help or ""
    invocations = [argv for line in examples(help_text) for argv in qa_invocations(line)]
    assert invocations, f"no `qa ...` line in the examples of {name or 'qa'}"
    for argv in invocations:
        assert argv and argv[0] in cli.commands, f"example runs an unknown command: qa {' '.join(argv)}"
        command = cli.commands[argv[0]]
        with command.make_context(f"qa {argv[0]}", list(argv[1:])):  # raises on unknown options or bad values
            pass
