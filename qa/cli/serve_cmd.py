"""`qa serve`: the HTTP API and the web widget."""

from __future__ import annotations

import os
import socket

import click

from qa.cli.common import db_option, resolve_db
from qa.encoders.base import THREADS_ENV
from qa.errors import EncoderError, InputError
from qa.text import MAX_QUESTION_CHARS


@click.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind; 0.0.0.0 exposes it.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--model", help="Encoder(s) to use; the KB must be indexed with them.")
@click.option("--token", envvar="QA_TOKEN", help="Bearer token for POST /feedback (also from $QA_TOKEN).")
@click.option("--private", is_flag=True, help="Require the token on every API endpoint, not just writes.")
@click.option("--cors-origin", "cors", multiple=True, help="Allow browser calls from this origin (repeatable; *).")
@click.option("--max-body", default=16 * 1024, show_default=True, type=click.IntRange(256), help="Max body bytes.")
@click.option(
    "--max-question",
    default=MAX_QUESTION_CHARS,
    show_default=True,
    type=click.IntRange(1, MAX_QUESTION_CHARS),
    help="Max question length in characters.",
)
@click.option("--log-questions", is_flag=True, help="Put question text in the request log (off: no user text).")
@click.option("--access-log/--no-access-log", default=True, show_default=True, help="Log one line per request.")
def serve(
    db: str | None,
    host: str,
    port: int,
    workers: int,
    model: str | None,
    token: str | None,
    private: bool,
    cors: tuple[str, ...],
    max_body: int,
    max_question: int,
    log_questions: bool,
    access_log: bool,
) -> None:
    """Serve the KB over HTTP: POST /ask, POST /feedback, GET /entries/ID, GET /health,
    /openapi.json, and the chat widget at /widget.js (with a demo page at /).

    Several processes (--workers, or several hosts behind a load balancer) can serve one KB file.

    \b
    Example:
      qa serve --db faq.db --port 8000
      curl -s localhost:8000/ask -H 'Content-Type: application/json' -d '{"question": "what is qa?"}'
    """
    try:
        import uvicorn

        from qa.server.app import create_app, warm_up
        from qa.server.config import ENV, ServerConfig
    except ImportError as e:
        raise EncoderError(f"qa serve needs the server extra ({e.name} is missing): pip install 'qa[server]'") from e
    if private and not token:
        raise InputError("--private needs a token: pass --token or set $QA_TOKEN.")
    _check_port(host, port)
    from qa.bot import Bot

    config = ServerConfig(
        db=str(resolve_db(db)),
        model=model,
        token=token or None,
        private=private,
        cors_origins=cors,
        max_body_bytes=max_body,
        max_question_chars=max_question,
        log_questions=log_questions,
    )
    # Load (index and calibrate if needed) once here: errors show before the port is bound, and
    # worker processes then find a KB that is ready instead of racing to prepare it.
    bot = Bot.open(config.db, model=model, background_reload=True)
    n = bot.index.n
    where = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    click.echo(f"qa serve: {n} entries from {config.db}, on {where} (demo page at {where}/)", err=True)
    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        click.echo("Warning: listening beyond this machine with no --token: anyone can send feedback.", err=True)
    log_config = _log_config()
    if workers == 1:
        warm_up(bot)
        uvicorn.run(create_app(bot, config), host=host, port=port, log_config=log_config, access_log=access_log)
        return
    bot.kb.close()
    os.environ[ENV] = config.to_env()
    # The workers share the cores: one encoder thread each, without spin-waiting, beats threads
    # that fight (CPU per question: 11.7 ms with one thread, 18.6 ms with two).
    os.environ.setdefault(THREADS_ENV, "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    uvicorn.run(
        "qa.server.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=log_config,
        access_log=access_log,
    )


def _check_port(host: str, port: int) -> None:
    """Fail before the model loads when the address cannot be bound (uvicorn would only log it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            raise InputError(f"Cannot listen on {host}:{port} ({e.strerror}). Pick another --port or --host.") from e


def _log_config() -> dict:
    """uvicorn's logging, plus our one line per question (status, confidence, time; no user text)."""
    from uvicorn.config import LOGGING_CONFIG

    cfg = {**LOGGING_CONFIG, "loggers": dict(LOGGING_CONFIG["loggers"])}
    cfg["loggers"]["qa.server"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return cfg
