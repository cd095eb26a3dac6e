"""Shared fixtures. Logic tests use the deterministic FakeEncoder; tests that load real models are
marked slow; tests that need ../shared/data skip when it is absent."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from qa.encoders.fake import FakeEncoder
from qa.kb.entry import Entry

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"

ENTRIES = [
    Entry(
        "pw",
        "how do I reset my password",
        "Click 'forgot password' on the login page.",
        ["I forgot my password", "password reset", "can't remember my password", "change my password"],
        "en",
        ["account"],
    ),
    Entry(
        "hours",
        "what are your opening hours",
        "We are open 9 to 5, Monday to Friday.",
        ["when are you open", "opening times", "what time do you open", "are you open on sunday"],
        "en",
        ["shop"],
    ),
    Entry(
        "ship",
        "how long does shipping take",
        "Orders arrive in 3 to 5 days.",
        ["delivery time", "when will my order arrive", "how fast is delivery", "shipping duration"],
        "en",
        ["shop"],
    ),
    Entry(
        "refund",
        "how do I get a refund",
        "Write to us within 30 days for a refund.",
        ["I want my money back", "refund policy", "return an item for a refund", "can I get refunded"],
        "en",
        ["shop"],
    ),
    Entry(
        "sym",
        "新冠肺炎有哪些症状",
        "发热、干咳、乏力。",
        ["新冠的症状是什么", "感染新冠会有什么表现", "新冠肺炎症状"],
        "zh",
        [],
    ),
    Entry(
        "mask",
        "口罩应该怎么戴",
        "有颜色的一面朝外，金属条在上。",
        ["怎样正确佩戴口罩", "口罩怎么戴才对", "戴口罩的方法"],
        "zh",
        [],
    ),
]


@pytest.fixture
def fake() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture
def entries() -> list[Entry]:
    return [Entry(e.id, e.question, e.answer, list(e.alternates), e.lang, list(e.tags)) for e in ENTRIES]


@pytest.fixture
def kb_file(tmp_path: Path) -> Path:
    """A JSONL import file with the sample entries."""
    p = tmp_path / "kb.jsonl"
    p.write_text(
        "".join(json.dumps(e.to_dict(), ensure_ascii=False) + "\n" for e in ENTRIES),
        encoding="utf-8",
    )
    return p


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the bundled KB, history and caches out of the real home folder."""
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("XDG_DATA_HOME", str(base / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(base / "xdg-cache"))
    monkeypatch.delenv("QA_DB", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def shared_set(name: str) -> Path:
    path = SHARED / name
    if not (path / "kb.jsonl").exists():
        pytest.skip(f"../shared/data/{name} is not present")
    return path


def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: object, stdin: object = None
) -> tuple[int, str, str]:
    """Run `qa ARGS` in-process through qa.cli.main (so errors map to exit codes): (code, stdout, stderr)."""
    import sys

    import qa.cli as c

    monkeypatch.setattr(sys, "argv", ["qa", *map(str, args)])
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", stdin)
    code = 0
    try:
        c.main()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def db(tmp_path: Path, kb_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    """A KB file of the sample entries, imported with the fake encoder through the CLI."""
    path = tmp_path / "kb.db"
    assert run_cli(monkeypatch, capsys, "import", kb_file, "--db", path, "--model", "fake")[0] == 0
    return path


@pytest.fixture
def qa(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """`qa ARGS` in-process: (code, stdout, stderr)."""
    return lambda *args: run_cli(monkeypatch, capsys, *args)


def xlsx_bytes(
    rows: Sequence[Sequence[object]], *, title: str = "FAQ", patch: Callable[[str], str] | None = None
) -> bytes:
    """A workbook whose first sheet holds `rows` (values as openpyxl takes them: numbers, dates,
    "=formulas"). `patch` edits the sheet's XML, for what openpyxl does not write: a formula's saved
    value, a cell over Excel's 32,767 characters."""
    import zipfile

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    if patch is None:
        return buf.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = patch(data.decode("utf-8")).encode("utf-8")
            dst.writestr(item, data)
    return out.getvalue()


@pytest.fixture
def ambiguous_bot(fake: FakeEncoder):  # noqa: ANN201 - a Bot
    """Two near-identical entries and a calibration where a near tie is never confident alone, but
    one of the two is: a vague question about them is 'ambiguous'."""
    from qa.bot import Bot
    from qa.kb.store import KnowledgeBase
    from qa.retrieval.calibration import Calibration, Logistic

    kb = KnowledgeBase.memory()
    kb.upsert(
        [
            Entry("a", "reset password online", "A"),
            Entry("b", "reset password offline", "B"),
            Entry("c", "opening hours", "C"),
        ]
    )
    bot = Bot(kb, [fake])
    bot._cal = Calibration(Logistic([0.0, 40.0], -2.0), Logistic([1.0, 0.0], 5.0), 0.6, 0.5, "test", 0)
    return bot


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=5) as r:
            return bool(r.status == 200)
    except OSError:
        return False


@contextmanager
def serve_process(args: Sequence[str], *, env: dict[str, str], log: Path, timeout: float) -> Iterator[str]:
    """Run `qa serve ARGS` on a free localhost port until /health answers; yield its URL, and stop it
    afterwards. Its output goes to `log`, which a failure to start quotes."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    qa = Path(sys.executable).parent / "qa"
    with log.open("w") as out:
        proc = subprocess.Popen([str(qa), "serve", *args, "--port", str(port)], env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(url):
            assert proc.poll() is None, f"qa serve exited with {proc.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"qa serve did not start within {timeout} s:\n{log.read_text()}"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
