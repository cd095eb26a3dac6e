"""Quality commands: eval (a labelled batch test) and selftest (the KB against itself)."""

from __future__ import annotations

import shlex

import click

from qa.cli.common import db_option, json_option, open_bot, print_json


@click.command(name="eval")
@click.argument("queries", type=click.Path(dir_okay=False))
@db_option
@json_option
def eval_(queries: str, db: str | None, as_json: bool) -> None:
    """Score the bot on labelled QUERIES (JSONL: {"query", "gold": [ids]}; gold [] = out of scope).

    Reports ranking (hit@1, MRR@10, recall@5), out-of-scope detection (AUROC), the
    answer/fallback decisions, and calibration (ECE, with a reliability table); when confidence
    runs clearly under or over the share correct, the `qa tune` command that would refit it.
    Asks are not logged.

    \b
    Example:
      qa eval queries.jsonl --db faq.db
      qa eval queries.jsonl --db faq.db --json
    """
    from qa.evaluate import METRIC_KEYS, confusions, metrics, read_queries, run

    labelled = read_queries(queries)
    bot = open_bot(db)
    known = set(bot.index.entry_ids)
    unknown = sorted({g for q in labelled for g in q.gold} - known)
    outs = run(lambda q: bot.ask(q, top_k=10, log=False), labelled)
    m = metrics(outs)
    m["calibration"] = bot.calibration.source
    m["unknown_gold_ids"] = unknown[:20]
    m["worst_confusions"] = confusions(outs)
    if as_json:
        print_json(m)
        return

    def f(v: object) -> str:
        return "-" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))

    click.echo(f"{m['n']} questions, {m['n_out_of_scope']} out of scope; calibration: {m['calibration']}")
    for key in METRIC_KEYS:
        click.echo(f"  {key:20s}{f(m[key])}")
    click.echo("Reliability (confidence bin: mean confidence vs. share correct):")
    for row in m["reliability"]:
        click.echo(
            f"  {row['bin']}  n={row['n']:5d}  confidence {row['confidence']:.2f}  correct {row['accuracy']:.2f}"
        )
    _calibration_hint(m, bot.oos_share(), queries, db)
    if m["worst_confusions"]:
        click.echo("Worst confusions (expected -> answered instead):")
        for c in m["worst_confusions"]:
            click.echo(f"  {c['count']:4d}  {c['expected']} -> {c['got']}")
    if unknown:
        click.echo(f"Warning: {len(unknown)} gold ids are not in the KB, e.g. {', '.join(unknown[:3])}", err=True)


def _calibration_hint(m: dict, assumed: float, queries: str, db: str | None) -> None:
    """When confidence runs clearly under or over the share correct, say what would refit it."""
    n = sum(r["n"] for r in m["reliability"])
    if not n or m["calibration"].startswith("labelled"):
        return
    conf = sum(r["n"] * r["confidence"] for r in m["reliability"]) / n
    right = sum(r["n"] * r["accuracy"] for r in m["reliability"]) / n
    if abs(conf - right) < 0.03:
        return
    real = m["n_out_of_scope"] / m["n"]
    where = f" --db {shlex.quote(db)}" if db else ""
    click.echo(
        f"Confidence runs {'under' if conf < right else 'over'} the share correct here "
        f"(mean {conf:.2f} against {right:.2f})."
    )
    if abs(real - assumed) >= 0.05:
        click.echo(
            f"  {real:.0%} of these questions are out of scope; the KB's calibration assumes {assumed:.0%}. "
            f"If your users' questions are like these: qa tune --oos-share {real:.2f}{where}"
        )
    click.echo(f"  To fit confidence on these labelled questions instead: qa tune {shlex.quote(queries)}{where}")


@click.command()
@db_option
@json_option
@click.option("--min", "minimum", default=0.8, show_default=True, help="Exit 1 when accuracy is below this.")
@click.option("--limit", default=20, show_default=True, help="Failures to list (0: all).")
def selftest(db: str | None, as_json: bool, minimum: float, limit: int) -> None:
    """Check that every stored question and alternate finds its own entry when held out.

    For CI of your own KB: exits 1 when the share that pass is below --min.

    \b
    Example:
      qa selftest --db faq.db --min 0.9
    """
    from qa.curate.selftest import selftest as run_selftest

    if not 0.0 <= minimum <= 1.0:
        raise click.BadParameter("must be between 0 and 1", param_hint="--min")
    bot = open_bot(db)
    result = run_selftest(bot.index)
    shown = result.failures[: limit or None]
    ok = result.accuracy >= minimum
    if as_json:
        print_json(
            {
                "n": result.n,
                "passed": result.passed,
                "accuracy": result.accuracy,
                "min": minimum,
                "ok": ok,
                "failures": [f.__dict__ for f in shown],
            }
        )
    else:
        click.echo(
            f"{result.passed} of {result.n} texts find their own entry ({result.accuracy:.1%}; minimum {minimum:.0%})."
        )
        for fl in shown:
            click.echo(f"  [{fl.entry_id}] {fl.text!r} -> [{fl.got}]")
        if len(result.failures) > len(shown):
            click.echo(f"  ... and {len(result.failures) - len(shown)} more (--limit 0 lists all)")
    if not ok:
        raise SystemExit(1)


@click.command()
@click.argument("queries", type=click.Path(dir_okay=False), required=False)
@db_option
@json_option
@click.option(
    "--precision", type=float, help="Answer threshold: the lowest confidence whose answers reach this precision."
)
@click.option("--threshold", type=float, help="Set the answer threshold (0-1) by hand.")
@click.option("--margin", type=float, help="Set the ambiguity margin by hand.")
@click.option(
    "--oos-share",
    type=float,
    help="The share of your users' questions that the KB cannot answer (0-0.9; default 0.1): "
    "the self-calibration is refitted for it and keeps it.",
)
@click.option(
    "--from-review",
    is_flag=True,
    help="Estimate the out-of-scope share from what qa review decided about logged questions, and refit.",
)
@click.option(
    "--reset", is_flag=True, help="Drop hand-set thresholds and out-of-scope share; refit from the KB's own alternates."
)
def tune(
    queries: str | None,
    db: str | None,
    as_json: bool,
    precision: float | None,
    threshold: float | None,
    margin: float | None,
    oos_share: float | None,
    from_review: bool,
    reset: bool,
) -> None:
    """Refit confidence and thresholds on labelled QUERIES, or set the thresholds by hand.

    With QUERIES (the `qa eval` format), the calibration is fitted on them and kept as the KB
    grows. Without, --precision refits the self-calibration for that precision, and --oos-share
    for that share of unanswerable questions (confidence is only right for the traffic it assumes:
    0 when every question has an answer in the KB, 0.3 when a third have none). --from-review
    estimates that share from the decisions `qa review` recorded (questions mapped to an entry or
    dismissed; at least 20) and keeps it, with where it came from (`qa stats` shows it).

    \b
    Example:
      qa tune labelled.jsonl --db faq.db --precision 0.9
      qa tune --db faq.db --oos-share 0.3
      qa tune --db faq.db --from-review
      qa tune --db faq.db --threshold 0.6 --margin 0.4
      qa tune --db faq.db --reset
    """
    from qa.loader import oos_share_source
    from qa.tuning import fit_labelled

    for name, value in (("--precision", precision), ("--threshold", threshold)):
        if value is not None and not 0.0 <= value <= 1.0:
            raise click.BadParameter("must be between 0 and 1", param_hint=name)
    if margin is not None and margin < 0:
        raise click.BadParameter("must be 0 or more", param_hint="--margin")
    if oos_share is not None and not 0.0 <= oos_share <= 0.9:
        raise click.BadParameter("must be between 0 and 0.9", param_hint="--oos-share")
    if queries and (oos_share is not None or from_review):
        raise click.UsageError(
            "--oos-share and --from-review are for the self-calibration: labelled QUERIES bring their own share."
        )
    if from_review and oos_share is not None:
        raise click.UsageError("Give --oos-share or --from-review, not both.")
    given = (precision, threshold, margin, oos_share)
    if not (queries or reset or from_review or any(v is not None for v in given)):
        raise click.UsageError(
            "Give labelled QUERIES, --precision, --oos-share, --from-review, --threshold, --margin or --reset."
        )
    bot = open_bot(db)
    if reset:
        bot.kb.config.update(thresholds=None, oos_share=None, oos_share_source=None)
    if from_review:
        from qa.tuning import share_from_review

        est = share_from_review(bot)
        oos_share = est.share
        source = f"qa review: {est.answerable} questions mapped to an entry, {est.dismissed} dismissed"
        bot.kb.config.update(oos_share=oos_share, oos_share_source=source)
    elif oos_share is not None:
        bot.kb.config.update(oos_share=oos_share, oos_share_source="qa tune --oos-share")
    if queries:
        from qa.evaluate import read_queries

        cal = fit_labelled(bot, read_queries(queries), precision=precision, source=f"labelled:{queries}")
        bot.set_calibration(cal)
    elif precision is not None or reset or oos_share is not None:  # (--from-review set oos_share)
        kw = {} if precision is None else {"precision": precision}
        bot.recalibrate(**kw)
    overrides = dict(bot.kb.config.thresholds)
    if threshold is not None:
        overrides["answer_threshold"] = threshold
    if margin is not None:
        overrides["ambiguity_margin"] = margin
    if threshold is not None or margin is not None:
        bot.kb.config.update(thresholds=overrides)
    cal = bot.calibration
    out = {
        "calibration": cal.source,
        "oos_share": bot.oos_share(),
        "oos_share_source": oos_share_source(bot.kb),
        "examples": cal.n_examples,
        "answer_threshold": cal.answer_threshold,
        "ambiguity_margin": cal.ambiguity_margin,
        "hand_set": overrides,
    }
    if as_json:
        print_json(out)
    else:
        click.echo(
            f"Calibration: {cal.source} ({cal.n_examples} examples). Answer threshold "
            f"{cal.answer_threshold:.0%}, ambiguity margin {cal.ambiguity_margin:.2f}, "
            f"out-of-scope share {out['oos_share']:.0%}" + (f"; hand-set: {overrides}" if overrides else "") + "."
        )
