"""Model commands: models, train-vectors."""

from __future__ import annotations

import click

from qa.cli.common import db_option, json_option, print_json, resolve_db, write_db_option


@click.command()
@db_option
@json_option
def models(db: str | None, as_json: bool) -> None:
    """List the encoders qa can use offline, and which ones this KB uses.

    \b
    Example:
      qa models --db faq.db
    """
    from qa.encoders import registry
    from qa.kb.store import KnowledgeBase

    kb = KnowledgeBase(resolve_db(db), create=False)
    used = kb.config.model or []
    rows: list[dict[str, object]] = [{**r, "used": r["id"] in used} for r in registry.describe()]
    if as_json:
        print_json({"kb_model": used, "default": registry.AUTO, "encoders": rows})
        return
    click.echo(f"This KB uses: {'+'.join(used) or '(not indexed yet)'}   default (auto): {'+'.join(registry.AUTO)}")
    for r in rows:
        mark = "*" if r["used"] else " "
        click.echo(f"{mark} {r['id']:26s} {r['languages']:6s} {r['description']}")


@click.command(name="train-vectors")
@write_db_option
@click.option(
    "--kind",
    type=click.Choice(["fasttext", "word2vec"]),
    default="fasttext",
    show_default=True,
    help="FastText (subwords cover unseen words) or Word2Vec.",
)
@click.option("--name", default="kb", show_default=True, help="Name to store the model under.")
@click.option("--dim", default=100, show_default=True, help="Vector size.")
@click.option("--epochs", default=50, show_default=True, help="Training passes over the KB's texts.")
@click.option("--use", "use_now", is_flag=True, help="Switch the KB to these vectors and re-embed now.")
@json_option
def train_vectors(db: str | None, kind: str, name: str, dim: int, epochs: int, use_now: bool, as_json: bool) -> None:
    """Train gensim word vectors on the KB's own questions and alternates (SIF sentence vectors).

    The model is stored inside the KB file. Retraining changes its id, so a KB that uses it asks
    to be re-indexed.

    \b
    Example:
      qa train-vectors --db faq.db --kind fasttext --name kb
      qa index --db faq.db --model fasttext:kb
    """
    from qa import indexing
    from qa.bot import Bot
    from qa.encoders import word_vectors
    from qa.errors import InputError
    from qa.kb import word_models
    from qa.kb.store import KnowledgeBase

    kb = KnowledgeBase(resolve_db(db, bundled_ok=False), create=False)
    texts = [t for _, t, _ in kb.texts()]
    if len(texts) < 2:
        raise InputError("The KB has too few texts to train word vectors. Import entries first: qa import FILE")
    word_models.check_name(name)
    data, meta = word_vectors.train(texts, kind, dim=dim, epochs=epochs)
    word_models.save_word_model(kb, name, kind, data, meta)
    enc = word_vectors.from_stored(name, kind, data, meta)
    prefix = "fasttext" if kind == "fasttext" else "w2v"
    if use_now:
        indexing.index(kb, [enc], switch=True)
        Bot(kb, [enc])
    out = {"id": enc.id, "kind": kind, "texts": len(texts), "bytes": len(data), "in_use": use_now}
    if as_json:
        print_json(out)
    else:
        click.echo(f"Trained {enc.id} on {len(texts)} texts ({len(data) / 1e6:.1f} MB, stored in the KB).")
        if not use_now:
            click.echo(f"Use it with: qa index --model {prefix}:{name}" + (f" --db {db}" if db else ""))
