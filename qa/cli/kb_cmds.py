"""KB commands: import, index, list, show, stats."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import click

from qa.cli.common import db_option, json_option, print_json, progress_factory, resolve_db, write_db_option
from qa.kb.formats import FORMATS

if TYPE_CHECKING:
    from qa.curate.conflicts import ChangedReport


@click.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@write_db_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="File format (default: from the extension).")
@click.option(
    "--encoding", default="utf-8", show_default=True, help="Text encoding of FILE, e.g. latin-1, gbk (not for xlsx)."
)
@click.option("--replace", is_flag=True, help="Replace the whole KB: entries not in FILE are removed.")
@click.option("--dry-run", is_flag=True, help="Show what would change and what it would duplicate; write nothing.")
@click.option("--model", help="Encoder(s) for a new KB (default: auto). See: qa models")
@click.option("--silent", is_flag=True, help="No progress bar.")
@json_option
def import_(
    file: str,
    db: str | None,
    fmt: str | None,
    encoding: str,
    replace: bool,
    dry_run: bool,
    model: str | None,
    silent: bool,
    as_json: bool,
) -> None:
    """Import FAQ entries from FILE (JSONL, JSON, CSV, TSV, YAML, Markdown, Excel .xlsx, or an Azure
    QnA TSV export with --format azure; - for stdin), then embed them.

    Entries are matched by id: new ones are added, changed ones updated. All or nothing: a bad
    line stops the import with its line number and nothing is written; so does Ctrl-C. It ends
    with the new or changed entries that duplicate another entry (as qa dupes would list them),
    and which of those answer differently (qa conflicts). --dry-run imports into a scratch copy
    of the KB, so it embeds the changed texts too, and leaves the KB as it is.

    Limits, the same in every format: an answer (or an id, a tag) may hold up to 1 MiB of UTF-8
    (1,048,576 bytes); a question or an alternate up to 1,000 characters, as qa ask reads them.

    \b
    Example:
      qa import faq.jsonl --db faq.db
      qa import faq.csv --db faq.db --replace --dry-run
      qa import faq.xlsx --db faq.db          # the first sheet, with CSV's columns
    """
    from qa.importing import import_entries
    from qa.kb.formats import read_file

    path = resolve_db(db, bundled_ok=False)
    entries = read_file(file, fmt, encoding)
    progress = progress_factory("Embedding", silent or as_json)
    result = import_entries(path, entries, replace=replace, dry_run=dry_run, model=model, progress=progress)
    if as_json:
        print_json(result.to_dict())
        return
    verb = "Would change" if dry_run else "Imported"
    click.echo(
        f"{verb}: {result.added} added, {result.updated} updated, {result.unchanged} unchanged, "
        f"{result.removed} removed. The KB has {result.entries} entries{' now' if dry_run else ''}."
    )
    _echo_changed(result.changed, path, dry_run)


#: Pairs the end-of-import report prints (qa dupes lists them all).
REPORT_PAIRS = 10


def _echo_changed(report: ChangedReport, path: Path, dry_run: bool) -> None:
    from qa.cli.problem_cmds import pair_lines

    if not report.checked:
        return
    if not report.pairs:
        click.echo(f"No new or changed entry duplicates another ({report.checked} checked).")
        return
    differ = {(c.pair.a, c.pair.b) for c in report.conflicts}
    n = len(report.pairs)
    click.echo(
        f"{'The import would bring in' if dry_run else 'Duplicates:'} {n} pair{'s' * (n != 1)} of a new or "
        f"changed entry and another that asks the same ({len(differ)} with different answers):"
    )
    for p in report.pairs[:REPORT_PAIRS]:
        lines = pair_lines(p)
        if (p.a, p.b) in differ:
            lines[2] = lines[2].replace("; to merge", "; the answers differ; to merge")
        click.echo("\n".join(lines))
    if len(report.pairs) > REPORT_PAIRS:
        click.echo(f"  ... and {len(report.pairs) - REPORT_PAIRS} more")
    where = f" --db {shlex.quote(str(path))}"
    click.echo(
        f"{'After the import, r' if dry_run else 'R'}eview them with: qa dupes{where} and qa conflicts{where}; "
        "keep one of two entries with: qa merge KEEP REMOVE"
    )


@click.command()
@db_option
@click.option("--model", help="Switch to these encoder(s) and re-embed everything (e.g. auto, minilm, e5+minilm).")
@click.option("--prune", is_flag=True, help="Delete vectors no text or model uses any more.")
@click.option("--silent", is_flag=True, help="No progress bar.")
@json_option
def index(db: str | None, model: str | None, prune: bool, silent: bool, as_json: bool) -> None:
    """Bring the vectors up to date: embed only texts with no vector for the KB's encoders.

    \b
    Example:
      qa index --db faq.db
      qa index --db faq.db --model e5      # switch encoder; re-embeds everything
    """
    from qa import indexing
    from qa.bot import Bot
    from qa.encoders import registry
    from qa.kb.store import KnowledgeBase

    kb = KnowledgeBase(resolve_db(db), create=False)
    ids = registry.expand(model) if model else (indexing.kb_model(kb) or registry.expand(registry.DEFAULT_MODEL))
    encoders = indexing.make_encoders(ids, kb)
    report = indexing.index(
        kb, encoders, switch=True, full=True, progress=progress_factory("Embedding", silent or as_json)
    )
    pruned = kb.prune_vectors(keep_model=None) if prune else 0
    Bot(kb, encoders)
    if as_json:
        print_json({"model": report.model, "embedded": report.embedded, "switched": report.switched, "pruned": pruned})
    else:
        done = ", ".join(f"{n} with {m}" for m, n in report.embedded.items())
        click.echo(
            f"Model {'+'.join(report.model)}{' (switched)' if report.switched else ''}. Embedded: {done}."
            + (f" Pruned {pruned} vectors." if prune else "")
        )


@click.command(name="list")
@db_option
@json_option
@click.option("--limit", default=0, help="Show at most this many entries (0: all).")
def list_(db: str | None, as_json: bool, limit: int) -> None:
    """List the entries: id, language, alternates and question.

    \b
    Example:
      qa list --db faq.db --limit 20
    """
    from qa.kb.store import KnowledgeBase

    kb = KnowledgeBase(resolve_db(db), create=False)
    entries = kb.entries()[: limit or None]
    if as_json:
        print_json(
            [
                {"id": e.id, "question": e.question, "lang": e.lang, "alternates": len(e.alternates), "tags": e.tags}
                for e in entries
            ]
        )
        return
    for e in entries:
        click.echo(f"{e.id}\t{e.lang}\t+{len(e.alternates)}\t{e.question}")


@click.command()
@click.argument("entry_id")
@db_option
@json_option
def show(entry_id: str, db: str | None, as_json: bool) -> None:
    """Show one entry in full.

    \b
    Example:
      qa show en-what-is-qa
    """
    from qa.kb.store import KnowledgeBase

    e = KnowledgeBase(resolve_db(db), create=False).get(entry_id)
    if as_json:
        print_json(e.__dict__)
        return
    click.echo(f"id:        {e.id}\nlang:      {e.lang}\ntags:      {', '.join(e.tags)}\nquestion:  {e.question}")
    for a in e.alternates:
        click.echo(f"  also:    {a}")
    click.echo(f"answer:    {e.answer}\ncreated:   {e.created}\nupdated:   {e.updated}")


def describe_measured(m: dict) -> str:
    """One line on the mix of signals a KB chose for one language, and what it was measured on."""

    def mix(d: dict) -> str:
        parts = [f"{e} {w:g}" for e, w in d["parts"]]
        return " + ".join([*parts, f"BM25 {d['lexical']:g}"])

    chosen, default = m["chosen"], m["default"]
    if chosen["hit1"] is None:
        return f"{mix(chosen)} ({m['source']})"
    base = f"{mix(chosen)}: held-out hit@1 {chosen['hit1']:.3f} on {m['n_examples']} alternates"
    if chosen == default:
        return base + " (the default mix; none measured better by more than the noise)"
    return base + f", against {default['hit1']:.3f} for the default ({mix(default)})"


def describe_head(h: dict) -> str:
    """One line on a language's learned head: what it was trained on, when, and what it measured."""
    base = h.get("cv_hit1_retrieval")
    against = f" (retrieval alone {base:.3f})" if base is not None else ""
    return (
        f"trained on {h['n_texts']} texts ({h['n_held_out']} held out) at {h['created']}; "
        f"held-out hit@1 {h['cv_hit1']:.3f}{against}; weight {h['weight']:g}"
        + (" (measured not to help: unused)" if not h["weight"] else "")
    )


@click.command()
@db_option
@json_option
def stats(db: str | None, as_json: bool) -> None:
    """Counts, languages, model, calibration and thresholds of the KB.

    \b
    Example:
      qa stats --db faq.db --json
    """
    from collections import Counter

    from qa.kb.heads import list_heads
    from qa.kb.store import KnowledgeBase
    from qa.loader import oos_share, oos_share_source
    from qa.retrieval.calibration import Calibration

    kb = KnowledgeBase(resolve_db(db), create=False)
    entries = kb.entries()
    cal = kb.config.calibration
    fit = Calibration.from_json(cal["fit"]) if cal else None
    out = {
        "path": str(kb.path),
        "entries": len(entries),
        "texts": sum(1 + len(e.alternates) for e in entries),
        "languages": dict(Counter(e.lang for e in entries)),
        "model": kb.config.model,
        "vectors": kb.vector_models(),
        "calibration": fit.source if fit else None,
        "answer_threshold": fit.answer_threshold if fit else None,
        "ambiguity_margin": fit.ambiguity_margin if fit else None,
        "threshold_overrides": kb.config.thresholds,
        "oos_share": oos_share(kb),
        "oos_share_source": oos_share_source(kb),
        "mixes": (cal or {}).get("mixes", {}),
        "signals_measured": (cal or {}).get("measured", []),
        "heads": [{k: v for k, v in h.items() if k != "mix"} for h in list_heads(kb)],
        "logged_questions": kb.count_log(),
        "feedback": {eid: {"helpful": h, "not_helpful": n} for eid, (h, n) in kb.feedback_counts().items()},
    }
    if as_json:
        print_json(out)
        return
    notes = {
        "oos_share": (
            " (the default; qa tune --oos-share or --from-review sets it)" if kb.config.oos_share is None else ""
        ),
        "calibration": (
            " (the KB has too few alternates to calibrate itself: add alternates, or qa tune QUERIES.jsonl)"
            if out["calibration"] == "prior"
            else ""
        ),
    }
    shown = {k: v for k, v in out.items() if k not in ("mixes", "signals_measured", "heads")}
    for k, v in shown.items():
        click.echo(f"{k + ':':22s}{v}{notes.get(k, '')}")
    for m in out["signals_measured"]:
        click.echo(f"{'signals (' + m['lang'] + '):':22s}{describe_measured(m)}")
    for h in out["heads"]:
        click.echo(f"{'learned head (' + h['lang'] + '):':22s}{describe_head(h)}")
