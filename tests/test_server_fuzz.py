"""Property-based API test: schemathesis generates requests from /openapi.json (valid and invalid
bodies, odd strings, Chinese, huge numbers); the server must never answer with a 5xx."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402

from qa.bot import Bot  # noqa: E402
from qa.encoders.fake import FakeEncoder  # noqa: E402
from qa.kb.store import KnowledgeBase  # noqa: E402
from qa.server.app import create_app  # noqa: E402
from qa.server.config import ServerConfig  # noqa: E402
from tests.conftest import ENTRIES  # noqa: E402


def _app():  # noqa: ANN202 - a FastAPI app
    kb = KnowledgeBase.memory()
    kb.upsert(ENTRIES)
    return create_app(Bot(kb, [FakeEncoder()]), ServerConfig(db=":memory:", max_question_chars=300))


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_makes_a_server_error(case) -> None:
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, case.body, response.text)
    assert response.json() is not None  # every answer, errors included, is JSON
