"""The `qa` command line: a click group; each command group lives in its own module."""

from __future__ import annotations

import sys

import click

from qa.cli.ask_cmds import ask, chat
from qa.cli.edit_cmds import add, alt, edit, history, rm, search, tag
from qa.cli.export_cmd import export
from qa.cli.kb_cmds import import_, index, list_, show, stats
from qa.cli.model_cmds import models, train_vectors
from qa.cli.problem_cmds import check, conflicts, dupes, merge
from qa.cli.quality_cmds import eval_, selftest, tune
from qa.cli.review_cmds import review, unanswered
from qa.cli.serve_cmd import serve
from qa.errors import QAError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="qa")
def cli() -> None:
    """qa: an offline, multilingual FAQ bot with calibrated confidence.

    \b
    Example:
      qa chat                                  # chat with the bundled KB
      qa import faq.jsonl --db faq.db && qa ask "how do I reset my password?" --db faq.db
    """


for command in (
    ask,
    chat,
    import_,
    index,
    list_,
    show,
    stats,
    models,
    train_vectors,
    eval_,
    selftest,
    tune,
    add,
    edit,
    rm,
    alt,
    tag,
    search,
    history,
    unanswered,
    review,
    export,
    dupes,
    merge,
    conflicts,
    check,
    serve,
):
    cli.add_command(command)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except QAError as e:
        click.echo(f"Error: {e}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("Interrupted; nothing was changed.", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("\nInterrupted; nothing was changed.", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except BrokenPipeError:
        sys.exit(0)
    except UnicodeEncodeError as e:
        if "surrogates not allowed" not in str(e):
            raise
        # an argument with bytes that are not UTF-8 reached SQLite or the terminal
        click.echo("Error: some text given to qa is not valid UTF-8. Send UTF-8 text; nothing was changed.", err=True)
        sys.exit(2)
