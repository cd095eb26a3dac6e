"""Request hardening that sits in front of the routes: a body size limit and bearer tokens."""

from __future__ import annotations

import hmac
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def json_error(status: int, message: str, **extra: Any) -> tuple[int, bytes]:
    return status, json.dumps({"error": message, **extra}, ensure_ascii=False).encode()


class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413, before any of it reaches a route.

    Checks Content-Length up front, and counts the bytes of chunked bodies as they arrive.
    """

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.limit
                except ValueError:
                    await self._send(send, *json_error(400, "Content-Length is not a number."))
                    return
                if too_big:
                    await self._refuse(send)
                    return
        # Read the whole body first (it is small by design), so an oversized chunked body is refused
        # with 413 before any route sees a byte of it.
        chunks, seen, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await self._refuse(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as servers do

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        await self._send(
            send, *json_error(413, f"The request body is larger than {self.limit} bytes.", limit=self.limit)
        )

    @staticmethod
    async def _send(send: Send, status: int, body: bytes) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def token_ok(authorization: str | None, token: str) -> bool:
    """Whether an Authorization header carries `Bearer <token>` (compared in constant time)."""
    if not authorization:
        return False
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
