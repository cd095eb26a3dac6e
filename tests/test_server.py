"""The HTTP API through FastAPI's test client, with the fake encoder: every endpoint and error path."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from qa.bot import Bot  # noqa: E402
from qa.kb.store import KnowledgeBase  # noqa: E402
from qa.server.app import create_app  # noqa: E402
from qa.server.config import ServerConfig  # noqa: E402

TOKEN = "s3cret-token"


@pytest.fixture
def kb_path(tmp_path: Path, entries) -> Path:
    path = tmp_path / "kb.db"
    KnowledgeBase(path).upsert(entries)
    return path


def client_for(kb_path: Path, fake, **config) -> TestClient:
    bot = Bot(KnowledgeBase(kb_path), [fake])
    return TestClient(create_app(bot, ServerConfig(db=str(kb_path), **config)))


@pytest.fixture
def client(kb_path, fake) -> TestClient:
    return client_for(kb_path, fake)


def test_ask_returns_the_answer_fields(client):
    r = client.post("/ask", json={"question": "how do I reset my password"})
    assert r.status_code == 200
    body = r.json()
    for key in ("status", "text", "confidence", "entry_id", "matched_question", "suggestions", "reason"):
        assert key in body
    assert body["status"] == "answered" and body["entry_id"] == "pw"
    assert body["text"] == "Click 'forgot password' on the login page."
    assert 0 < body["confidence"] <= 1


def test_ask_in_chinese(client):
    r = client.post("/ask", json={"question": "口罩应该怎么戴"})
    assert r.status_code == 200
    assert r.json()["entry_id"] == "mask" and r.json()["lang"] == "zh"


def test_ask_with_tags_and_top_k(client):
    r = client.post("/ask", json={"question": "how do I reset my password", "tags": ["shop"], "top_k": 2})
    assert r.status_code == 200
    assert r.json()["entry_id"] != "pw"
    assert len(r.json()["suggestions"]) <= 2


def test_unanswered_questions_are_logged(client, kb_path):
    r = client.post("/ask", json={"question": "zzz qqq xyzzy plugh"})
    assert r.json()["status"] != "answered"
    assert [row["question"] for row in KnowledgeBase(kb_path).open_log()] == ["zzz qqq xyzzy plugh"]


def test_feedback_is_stored(client, kb_path):
    r = client.post("/feedback", json={"question": "reset pw", "entry_id": "pw", "helpful": True})
    assert r.status_code == 200 and r.json() == {"ok": True}
    assert KnowledgeBase(kb_path).feedback_counts() == {"pw": (1, 0)}


def test_feedback_for_an_unknown_entry_is_404(client):
    r = client.post("/feedback", json={"question": "q", "entry_id": "nope", "helpful": False})
    assert r.status_code == 404 and "nope" in r.json()["error"]


def test_feedback_helpful_must_be_a_boolean(client):
    r = client.post("/feedback", json={"question": "q", "entry_id": "pw", "helpful": "yes"})
    assert r.status_code == 422 and "helpful" in r.json()["error"]


def test_get_entry_and_404(client):
    r = client.get("/entries/pw")
    assert r.status_code == 200
    assert r.json()["question"] == "how do I reset my password" and "password reset" in r.json()["alternates"]
    r = client.get("/entries/missing")
    assert r.status_code == 404 and "missing" in r.json()["error"]


def test_health_reports_kb_model_and_count(client):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["kb"] == "kb.db" and body["entries"] == 6 and body["model"] == ["fake"]
    assert body["feedback_needs_token"] is False and body["max_question_chars"] == 1000
    assert body["reloading"] is False and body["reload_error"] is None


def test_a_kb_changed_by_another_process_reloads_while_requests_are_served(kb_path, fake, monkeypatch):
    import threading

    from qa.kb.entry import Entry

    bot = Bot(KnowledgeBase(kb_path), [fake], background_reload=True)
    client = TestClient(create_app(bot, ServerConfig(db=str(kb_path))))
    gate, read = threading.Event(), bot._read
    monkeypatch.setattr(bot, "_read", lambda kb: gate.wait(10) and read(kb))
    KnowledgeBase(kb_path).upsert([Entry("gift", "do you sell gift cards", "Yes, in store.", [], "en")])
    health = client.get("/health").json()
    assert health["reloading"] is True and health["entries"] == 6
    assert client.post("/ask", json={"question": "how do I reset my password"}).json()["entry_id"] == "pw"
    gate.set()
    bot._reloader.thread.join(10)
    health = client.get("/health").json()
    assert health["reloading"] is False and health["entries"] == 7 and health["reload_error"] is None
    assert client.post("/ask", json={"question": "do you sell gift cards"}).json()["entry_id"] == "gift"


def test_openapi_document_lists_the_endpoints(client):
    doc = client.get("/openapi.json").json()
    assert {"/ask", "/feedback", "/entries/{entry_id}", "/health"} <= set(doc["paths"])
    assert "AskRequest" in doc["components"]["schemas"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "body is empty"),
        (b"{}", 422, "missing field: question"),
        (b'{"question": 5}', 422, "question"),
        (b'{"question": "   "}', 422, "empty"),
        (b'{"question": "bad \\ud800 text"}', 422, "lone surrogate U+D800"),
        (b'{"question": "hi", "top_k": 0}', 422, "top_k"),
        (b'{"question": "hi", "tags": "shop"}', 422, "tags"),
        (b'["question"]', 422, "must be a JSON object"),
        (b"null", 422, "must be a JSON object"),
    ],
)
def test_bad_requests_get_a_clear_json_error(client, body, status, message):
    r = client.post("/ask", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status
    assert message in r.json()["error"]


def test_invalid_utf8_is_400(client):
    r = client.post("/ask", content=b'{"question": "\xff\xfe"}', headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "UTF-8" in r.json()["error"]


def test_a_body_that_is_not_sent_as_json_is_415(client):
    r = client.post("/ask", content=b"question=hi", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415 and "Content-Type: application/json" in r.json()["error"]


def test_unknown_path_and_method_are_json_errors(client):
    assert client.get("/nope").status_code == 404 and client.get("/nope").json()["error"]
    assert client.get("/ask").status_code == 405 and client.get("/ask").json()["error"]


def test_oversized_body_is_413(kb_path, fake):
    c = client_for(kb_path, fake, max_body_bytes=1024)
    r = c.post("/ask", json={"question": "x" * 2000})
    assert r.status_code == 413 and "1024 bytes" in r.json()["error"]


def test_oversized_chunked_body_is_413(kb_path, fake):
    c = client_for(kb_path, fake, max_body_bytes=1024)

    def chunks():
        yield b'{"question": "'
        for _ in range(10):
            yield b"x" * 200
        yield b'"}'

    r = c.post("/ask", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_too_long_question_is_413(kb_path, fake):
    c = client_for(kb_path, fake, max_question_chars=20)
    r = c.post("/ask", json={"question": "how do I reset my password please"})
    assert r.status_code == 413 and "limit is 20" in r.json()["error"]


def test_token_protects_feedback_only(kb_path, fake):
    c = client_for(kb_path, fake, token=TOKEN)
    fb = {"question": "q", "entry_id": "pw", "helpful": True}
    assert c.post("/ask", json={"question": "password reset"}).status_code == 200
    r = c.post("/feedback", json=fb)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert "bearer token" in r.json()["error"]
    assert c.post("/feedback", json=fb, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert c.post("/feedback", json=fb, headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    assert c.post("/feedback", json=fb, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_private_protects_every_endpoint(kb_path, fake):
    c = client_for(kb_path, fake, token=TOKEN, private=True)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert c.post("/ask", json={"question": "password reset"}).status_code == 401
    assert c.get("/entries/pw").status_code == 401
    assert c.get("/health").json() == {"status": "ok"}  # a load balancer's check still works
    assert c.post("/ask", json={"question": "password reset"}, headers=auth).status_code == 200
    assert c.get("/entries/pw", headers=auth).status_code == 200
    assert c.get("/health", headers=auth).json()["entries"] == 6


def test_cors_is_off_by_default_and_configurable(kb_path, fake):
    pre = {"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}
    r = client_for(kb_path, fake).options("/ask", headers=pre)
    assert "access-control-allow-origin" not in r.headers
    c = client_for(kb_path, fake, cors_origins=("https://shop.example",))
    r = c.options("/ask", headers={**pre, "Access-Control-Request-Headers": "content-type"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://shop.example"
    r = c.options("/ask", headers={**pre, "Origin": "https://evil.example"})
    assert r.headers.get("access-control-allow-origin") != "https://evil.example"


def test_widget_and_demo_page_are_served(client):
    js = client.get("/widget.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert client.get("/widget.css").headers["content-type"].startswith("text/css")
    assert client.head("/widget.js").status_code == 200  # link and uptime checkers use HEAD
    page = client.get("/")
    assert page.status_code == 200 and 'src="/widget.js"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for text in (js.text, client.get("/widget.css").text, page.text):  # no CDN, no external font
        assert not re.findall(r"https?://(?!www\.w3\.org/|HOST\b|[\w.-]*example\b)[\w.-]+", text)


def test_concurrent_requests(client):
    questions = ["how do I reset my password", "口罩应该怎么戴", "when are you open", "zzz unrelated"] * 10

    def ask(q: str) -> tuple[int, str | None]:
        r = client.post("/ask", json={"question": q})
        return r.status_code, r.json()["entry_id"]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(ask, questions))
    assert all(code == 200 for code, _ in results)
    assert [eid for _, eid in results[:3]] == ["pw", "mask", "hours"]
    assert results[:4] * 10 == results


def test_request_log_has_no_question_text_by_default(client, caplog):
    caplog.set_level("INFO", logger="qa.server")
    client.post("/ask", json={"question": "how do I reset my password"})
    assert "status=answered" in caplog.text and "reset" not in caplog.text


def test_a_kb_that_cannot_be_read_is_503_not_500(kb_path, fake, monkeypatch):
    from qa.errors import KBError

    c = client_for(kb_path, fake)

    def broken(*a, **k):
        raise KBError("database is locked")

    monkeypatch.setattr(c.app.state.bot.kb, "get", broken)
    r = c.get("/entries/pw")
    assert r.status_code == 503 and "locked" in r.json()["error"]


def test_config_round_trips_through_the_environment(monkeypatch):
    from qa.server.config import ENV

    cfg = ServerConfig(db="x.db", token="t", private=True, cors_origins=("https://a",), max_body_bytes=999)
    monkeypatch.setenv(ENV, cfg.to_env())
    assert ServerConfig.from_env() == cfg
    assert json.loads(cfg.to_env())["db"] == "x.db"
