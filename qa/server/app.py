"""The HTTP API: POST /ask, POST /feedback, GET /entries/{id}, GET /health, and the widget.

One Bot per process, loaded before the first request; routes are plain functions that FastAPI runs
in its thread pool (the Bot is thread-safe). Every error is JSON `{"error": message}` with a 4xx
status for anything the client got wrong; a 500 means a bug in qa.
"""

from __future__ import annotations

import functools
import logging
import time
from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, StrictBool
from starlette.exceptions import HTTPException

from qa import __version__
from qa.bot import Bot
from qa.errors import InputError, KBError, NotFoundError, QAError
from qa.server.config import ServerConfig
from qa.server.guard import BodyLimit, token_ok

log = logging.getLogger("qa.server")


# ---- request and response bodies (they make /openapi.json) ------------------------------------
class AskRequest(BaseModel):
    question: str = Field(description="The user's question, in English or Chinese.", examples=["what is qa?"])
    tags: list[str] | None = Field(None, max_length=50, description="Only consider entries with one of these tags.")
    top_k: int = Field(3, ge=1, le=20, description="How many candidates to consider for suggestions.")


class SuggestionOut(BaseModel):
    entry_id: str
    question: str
    confidence: float


class AnswerOut(BaseModel):
    status: str = Field(description="answered | ambiguous | fallback")
    text: str
    confidence: float = Field(description="Calibrated probability that the best entry is the right one.")
    entry_id: str | None
    matched_question: str | None
    suggestions: list[SuggestionOut]
    reason: str
    question: str = Field(description="The question as understood (cleaned, maybe truncated).")
    lang: str
    truncated: bool


class FeedbackRequest(BaseModel):
    question: str
    entry_id: str
    helpful: StrictBool


class EntryOut(BaseModel):
    id: str
    question: str
    answer: str
    alternates: list[str]
    lang: str | None
    tags: list[str]


class ErrorOut(BaseModel):
    error: str


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": what}
    for code, what in {
        400: "The body is not JSON.",
        401: "A bearer token is required and was missing or wrong.",
        413: "The body or the question is too long.",
        415: "The body is not sent as application/json.",
        422: "A field is missing or invalid, or the question is empty.",
    }.items()
}


# ---- the app ----------------------------------------------------------------------------------
def create_app(bot: Bot, config: ServerConfig) -> FastAPI:
    app = FastAPI(
        title="qa",
        version=__version__,
        description="An offline, multilingual FAQ bot with calibrated confidence.",
        docs_url=None,  # the interactive docs load scripts from a CDN; qa serves nothing external
        redoc_url=None,
    )
    app.state.bot, app.state.config = bot, config
    _install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=config.max_body_bytes)
    if config.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )

    def auth(write: bool) -> Any:
        def check(request: Request) -> None:
            if config.token and (write or config.private) and not _authorised(request, config):
                raise HTTPException(401, "A valid bearer token is required: Authorization: Bearer TOKEN")

        return Depends(check)

    def question_ok(question: str) -> None:
        if not question.strip():
            raise HTTPException(422, "The question is empty.")
        if len(question) > config.max_question_chars:
            raise HTTPException(
                413, f"The question is {len(question)} characters long; the limit is {config.max_question_chars}."
            )

    @app.post("/ask", response_model=AnswerOut, responses=ERRORS, dependencies=[auth(write=False)])
    def ask(req: AskRequest) -> Response:
        """Answer one question. Unanswered and ambiguous questions are logged for curators."""
        question_ok(req.question)
        t0 = time.perf_counter()
        ans = bot.ask(req.question, tags=req.tags or None, top_k=req.top_k)
        ms = (time.perf_counter() - t0) * 1000
        said = f" question={ans.question!r}" if config.log_questions else ""
        log.info("ask status=%s confidence=%.3f entry=%s %.1fms%s", ans.status, ans.confidence, ans.entry_id, ms, said)
        # straight to JSON: AnswerOut above documents the shape; re-validating it costs ~1 ms a question
        return JSONResponse(ans.to_dict())

    @app.post("/feedback", responses=ERRORS | {404: {"model": ErrorOut}}, dependencies=[auth(write=True)])
    def feedback(req: FeedbackRequest) -> dict[str, bool]:
        """Record whether an answer helped (shown per entry by `qa stats`)."""
        question_ok(req.question)
        bot.feedback(req.question, req.entry_id, req.helpful, source="http")
        return {"ok": True}

    @app.get(
        "/entries/{entry_id}",
        response_model=EntryOut,
        responses={404: {"model": ErrorOut}},
        dependencies=[auth(write=False)],
    )
    def entry(entry_id: str) -> dict[str, Any]:
        """One KB entry: its question, answer, alternates and tags."""
        return bot.kb.get(entry_id).to_dict()

    @app.get("/health")
    def health(request: Request) -> dict[str, Any]:
        """Liveness, and which KB and model this process serves (only "ok" without the token when
        the server is private)."""
        if config.token and config.private and not _authorised(request, config):
            return {"status": "ok"}
        bot.refresh()
        return {
            "status": "ok",
            "version": __version__,
            "kb": bot.kb.path.name if bot.kb.path else ":memory:",
            "model": [e.id for e in bot.encoders],
            "entries": bot.index.n,
            "texts": len(bot.index.texts),
            "calibration": bot.calibration.source,
            "reloading": bot.reloading,
            "reload_error": bot.reload_error,
            "feedback_needs_token": bool(config.token),
            "max_question_chars": config.max_question_chars,
        }

    @app.api_route("/widget.js", methods=["GET", "HEAD"], include_in_schema=False)
    def widget_js() -> Response:
        return _static("widget.js", "text/javascript; charset=utf-8")

    @app.api_route("/widget.css", methods=["GET", "HEAD"], include_in_schema=False)
    def widget_css() -> Response:
        return _static("widget.css", "text/css; charset=utf-8")

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def demo() -> Response:
        return _static("index.html", "text/html; charset=utf-8")

    return app


def _authorised(request: Request, config: ServerConfig) -> bool:
    return config.token is not None and token_ok(request.headers.get("authorization"), config.token)


@functools.cache
def _static_bytes(name: str) -> bytes:
    """A file of static/, read once per process (the widget is fetched on every page view)."""
    return resources.files("qa.server").joinpath("static", name).read_bytes()


def _static(name: str, media_type: str) -> Response:
    body = _static_bytes(name)
    headers = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}
    if name.endswith(".html"):
        headers["Content-Security-Policy"] = "default-src 'self'; img-src 'self' data:"
    return Response(body, media_type=media_type, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        whole_body = [e for e in errors if tuple(e.get("loc", ())) == ("body",)]
        if any(e.get("type") == "json_invalid" for e in errors):
            return _error(400, "The body is not valid JSON.")
        if "json" not in request.headers.get("content-type", ""):
            return _error(415, "Send JSON with the header Content-Type: application/json.")
        if any(e.get("type") == "missing" for e in whole_body):
            return _error(400, 'The body is empty: send JSON such as {"question": "..."}.')
        if whole_body:
            return _error(422, 'The body must be a JSON object such as {"question": "..."}.')
        parts = []
        for e in errors:
            where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
            parts.append("missing field: " + where if e.get("type") == "missing" else f"{where}: {e.get('msg')}")
        return _error(422, "; ".join(parts))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        message = str(exc.detail)
        if exc.status_code == 400 and "parsing the body" in message:  # FastAPI's words for bad UTF-8
            message = "The body is not valid UTF-8 JSON."
        return _error(exc.status_code, message, headers)

    @app.exception_handler(QAError)
    async def qa_error(_: Request, exc: QAError) -> JSONResponse:
        if isinstance(exc, NotFoundError):
            return _error(404, str(exc))
        if isinstance(exc, InputError):
            return _error(422, str(exc))
        if isinstance(exc, KBError):
            log.error("knowledge base error: %s", exc)
            return _error(503, f"The knowledge base cannot be used right now: {exc}")
        log.exception("qa error")
        return _error(500, str(exc))


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def warm_up(bot: Bot) -> None:
    """Load every encoder's model now, so the first user does not wait for it (~0.2 s)."""
    for enc in bot.encoders:
        enc.embed(["warm up", "预热"])


def app_from_env() -> FastAPI:
    """The factory each uvicorn worker process calls: config from $QA_SERVE_CONFIG, one Bot each."""
    config = ServerConfig.from_env()
    bot = Bot.open(config.db, model=config.model, background_reload=True)
    warm_up(bot)
    return create_app(bot, config)
