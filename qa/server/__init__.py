"""The HTTP API (`qa serve`) and the static web widget it serves.

`create_app(bot, config)` builds the ASGI app around one loaded Bot; `app_from_env()` is the factory
uvicorn's worker processes call. Importing `qa` never imports this package (it needs the `server`
extra: FastAPI and uvicorn).
"""
