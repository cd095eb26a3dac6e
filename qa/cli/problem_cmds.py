"""Curation commands that find problems: dupes, conflicts, check; and merge, which fixes a duplicate."""

from __future__ import annotations

import sys
from typing import Any

import click

from qa.cli.common import db_option, json_option, open_bot, print_json, resolve_db, write_db_option
from qa.errors import InputError


def _threshold_option(f: Any) -> Any:
    return click.option(
        "--threshold",
        type=float,
        help="Cosine from which two texts are near-duplicates (default: measured per encoder).",
    )(f)


def _limit_option(default: int, what: str) -> Any:
    return click.option("--limit", default=default, show_default=True, help=f"{what} to list (0: all).")


def _check_threshold(threshold: float | None) -> None:
    if threshold is not None and not 0.0 < threshold <= 1.0:
        raise click.BadParameter("must be above 0 and at most 1", param_hint="--threshold")


def _thresholds(index: Any, threshold: float | None) -> dict[str, float]:
    from qa.curate.duplicates import threshold_for

    return {enc: threshold_for(enc, threshold) for enc in index.signals}


def _describe(thresholds: dict[str, float]) -> str:
    from qa.curate.duplicates import ANSWERED_CONFIDENCE, SPELLING_SIMILARITY

    cosines = ", ".join(f"{enc} {t:.2f}" for enc, t in thresholds.items()) or "no encoder"
    return f"{cosines}; spelling {SPELLING_SIMILARITY:.2f} answered at {ANSWERED_CONFIDENCE:.0%}"


def reason(p: Any) -> str:
    """Why a pair is listed, in words: "same text", "cosine 0.953", "spelling 0.87, answered at 94%"."""
    if p.how == "cosine":
        return f"cosine {p.similarity:.3f} ({p.encoder})"
    if p.how == "spelling":
        return f"spelling {p.similarity:.2f}, one answers the other at {p.confidence:.0%}"
    return str(p.how)


def pair_lines(p: Any) -> list[str]:
    return [
        f"  {p.similarity:.3f}  [{p.a}] {p.a_text!r}",
        f"      ~  [{p.b}] {p.b_text!r}",
        f"         {reason(p)}; to merge: {p.suggestion}",
    ]


@click.command()
@db_option
@_threshold_option
@_limit_option(20, "Pairs")
@json_option
def dupes(db: str | None, threshold: float | None, limit: int, as_json: bool) -> None:
    """List pairs of entries whose questions or alternates are near-duplicates, most similar first.

    A pair is listed for the same text (ignoring case, width and punctuation) or the same words
    (ignoring spacing and plural -s too: "Red Robin" / "redrobin"), both at 1.0; for stored
    vectors at the cosine threshold of the encoder that serves both entries' languages; or for
    spelling: near-identical characters (a typo, a name spelt apart) where the KB, with one entry
    hidden, answers its text with the other entry confidently. Each pair comes with the command
    that merges it.

    \b
    Example:
      qa dupes --db faq.db
      qa dupes --db faq.db --threshold 0.85 --limit 0 --json
    """
    from qa.curate.duplicates import dupes as find_dupes

    _check_threshold(threshold)
    bot = open_bot(db)
    pairs = find_dupes(bot.index, threshold, bot.calibration)
    shown = pairs[: limit or None]
    thresholds = _thresholds(bot.index, threshold)
    if as_json:
        from qa.curate.duplicates import ANSWERED_CONFIDENCE, SPELLING_SIMILARITY

        spelling = {"similarity": SPELLING_SIMILARITY, "confidence": ANSWERED_CONFIDENCE}
        print_json(
            {"thresholds": thresholds, "spelling": spelling, "total": len(pairs), "pairs": [p.to_dict() for p in shown]}
        )
        return
    if not pairs:
        click.echo(f"No near-duplicate entries (threshold: {_describe(thresholds)}).")
        return
    click.echo(f"{len(pairs)} pairs of entries with near-duplicate texts (threshold: {_describe(thresholds)}):")
    for p in shown:
        click.echo("\n".join(pair_lines(p)))
    if len(pairs) > len(shown):
        click.echo(f"  ... and {len(pairs) - len(shown)} more (--limit 0 lists all)")


@click.command()
@click.argument("keep_id")
@click.argument("remove_id")
@write_db_option
@click.option("--yes", "-y", is_flag=True, help="Merge without asking.")
@json_option
def merge(keep_id: str, remove_id: str, db: str | None, yes: bool, as_json: bool) -> None:
    """Merge entry REMOVE_ID into KEEP_ID: its question and alternates become alternates of
    KEEP_ID, whose answer stays; REMOVE_ID is removed. One transaction: all or nothing.

    Asks first unless --yes (without a terminal, --yes is required).

    \b
    Example:
      qa merge reset-password forgot-password --db faq.db
      qa merge reset-password forgot-password --db faq.db --yes --json
    """
    from qa.curate import merge as run_merge
    from qa.curate import merge_preview
    from qa.kb.store import KnowledgeBase

    if keep_id == remove_id:
        raise InputError(f"Cannot merge entry {keep_id!r} into itself: give two different ids.")
    kb = KnowledgeBase(resolve_db(db, bundled_ok=False), create=False)
    keep, gone = kb.get(keep_id), kb.get(remove_id)
    added = merge_preview(keep, gone)
    if not yes:
        if not sys.stdin.isatty():
            raise InputError("qa merge asks before changing the KB, but there is no terminal to ask on. Add --yes.")
        click.echo(
            f"Merge [{remove_id}] into [{keep_id}]: {len(added)} texts become alternates of [{keep_id}], "
            f"its answer stays, and [{remove_id}] (answer: {gone.answer[:80]!r}) is removed.",
            err=True,
        )
        if not click.confirm("Merge?", default=False, err=True):
            click.echo("Not merged; nothing changed.", err=True)
            raise SystemExit(1)
    entry = run_merge(kb, keep_id, remove_id)
    if as_json:
        print_json({"kept": entry.id, "removed": remove_id, "added_alternates": added, "entry": entry.to_dict()})
    else:
        click.echo(
            f"Merged [{remove_id}] into [{keep_id}]: {len(added)} alternates added; "
            f"[{keep_id}] now has {len(entry.alternates)}."
        )


@click.command()
@db_option
@_threshold_option
@_limit_option(20, "Conflicts")
@json_option
def conflicts(db: str | None, threshold: float | None, limit: int, as_json: bool) -> None:
    """List near-duplicate questions (as in qa dupes) whose entries give different answers.

    Answers count as the same when equal ignoring case and spacing, or when they state the same
    numbers and are as similar as duplicate questions (the encoder's cosine on the answers;
    word overlap when the encoder cannot run).

    \b
    Example:
      qa conflicts --db faq.db
      qa conflicts --db faq.db --json
    """
    from qa.curate.conflicts import conflicts as find_conflicts
    from qa.curate.conflicts import encoder_embed
    from qa.curate.duplicates import dupes as find_dupes

    _check_threshold(threshold)
    bot = open_bot(db)
    pairs = find_dupes(bot.index, threshold, bot.calibration)
    answers = {e.id: e.answer for e in bot.kb.entries()}
    found = find_conflicts(pairs, answers, encoder_embed(bot.encoders), threshold)
    shown = found[: limit or None]
    thresholds = _thresholds(bot.index, threshold)
    if as_json:
        print_json({"thresholds": thresholds, "total": len(found), "conflicts": [c.to_dict() for c in shown]})
        return
    if not found:
        click.echo(f"No conflicting answers among {len(pairs)} near-duplicate pairs.")
        return
    click.echo(f"{len(found)} near-duplicate pairs with different answers (of {len(pairs)} pairs):")
    for c in shown:
        click.echo("\n".join(pair_lines(c.pair)[:2]))
        click.echo(f"         [{c.pair.a}] answers: {c.a_answer[:200]!r}")
        click.echo(f"         [{c.pair.b}] answers: {c.b_answer[:200]!r}")
        click.echo(f"         {reason(c.pair)}; answer {c.measure} similarity {c.answer_similarity:.2f}")
    if len(found) > len(shown):
        click.echo(f"  ... and {len(found) - len(shown)} more (--limit 0 lists all)")


def _item_line(section: str, item: dict[str, Any]) -> str:
    if section == "exact_duplicates":
        return f"[{item['a']}] {item['a_text']!r} = [{item['b']}] {item['b_text']!r}; {item['suggestion']}"
    if section == "retrieves_other_entry":
        return f"[{item['entry_id']}] {item['text']!r} retrieves [{item['retrieves']}]"
    if section == "mixed_languages":
        return f"[{item['entry_id']}] {item['question']!r} ({item['lang']}) has {item['alternates'][:3]!r}"
    return f"[{item['entry_id']}] {item['question']!r}"


@click.command()
@db_option
@json_option
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too, not only on errors.")
@_limit_option(10, "Items per section of the text report (--json lists all)")
def check(db: str | None, as_json: bool, strict: bool, limit: int) -> None:
    """Check a KB for problems, for a CI gate: exit 1 when there are errors (--strict: or warnings).

    Errors: empty answers, the same text in two entries. Warnings: entries without alternates,
    texts that retrieve another entry (qa selftest), alternates in another language than their
    question. Information: the KB's languages, and entries never chosen (feedback) nor
    suggested (the log of unanswered questions): the log holds no answered questions, so this
    is not "never asked".

    \b
    Example:
      qa check --db faq.db
      qa check --db faq.db --strict --json
    """
    from qa.curate.check import check as run_check
    from qa.curate.check import used_entries
    from qa.curate.selftest import selftest

    bot = open_bot(db)
    log = bot.kb.logged(limit=-1)  # SQLite: LIMIT -1 is no limit
    feedback = bot.kb.feedback_counts()
    report = run_check(
        bot.kb.entries(), bot.index, selftest(bot.index), used_entries(log, feedback), bool(log or feedback)
    )
    failed = report.failed(strict)
    if as_json:
        print_json(report.to_dict(strict))
    else:
        langs = ", ".join(f"{k} {v}" for k, v in report.languages.items()) or "none"
        click.echo(f"{report.n_entries} entries ({langs}).")
        for s in report.sections:
            if s.name == "never_chosen_or_suggested" and not report.usage_recorded:
                click.echo(f"{'info':8s} {s.title}: not known yet (no logged questions or feedback)")
                continue
            label = s.severity if s.items else "ok"
            click.echo(f"{label:8s} {s.title}: {len(s.items) or 'none'}")
            for item in s.items[: limit or None]:
                click.echo(f"           {_item_line(s.name, item)}")
            if len(s.items) > (limit or len(s.items)):
                click.echo(f"           ... and {len(s.items) - limit} more (--limit 0 lists all)")
        errors, warnings = report.count("error"), report.count("warning")
        verdict = "FAILED" if failed else "OK"
        click.echo(f"{verdict}: {errors} errors, {warnings} warnings{' (--strict)' if strict else ''}.")
    if failed:
        raise SystemExit(1)
