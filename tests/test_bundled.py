"""The bundled KB: its YAML sources ship inside the qa package and build the user's copy."""

from __future__ import annotations

from pathlib import Path

import pytest

import qa
from qa.cli import common
from qa.kb.store import KnowledgeBase
from tests.conftest import run_cli


def test_bundled_sources_are_package_data():
    files = common.knowledge_files()
    assert [f.name for f in files] == ["en.yaml", "zh.yaml"]
    # inside the package, so a wheel carries them (pyproject's package-data lists knowledge/*.yaml)
    assert all(Path(str(f)).parent == Path(qa.__file__).parent / "knowledge" for f in files)
    for f in files:
        entries = common.read_knowledge(f)
        assert len(entries) > 50
        assert {e.lang for e in entries} == {f.name.removesuffix(".yaml")}


def test_bundled_kb_is_built_once_from_the_package_data():
    path = common.bundled_db_path()
    kb = KnowledgeBase(path)
    try:
        n = kb.count()
        digest = kb.get_setting("source_hash")
    finally:
        kb.close()
    assert n == sum(len(common.read_knowledge(f)) for f in common.knowledge_files())
    assert common.bundled_db_path() == path
    kb = KnowledgeBase(path)
    try:
        assert kb.get_setting("source_hash") == digest
    finally:
        kb.close()


def test_missing_bundled_sources_say_what_to_do(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(common, "knowledge_dir", lambda: tmp_path / "nowhere")
    code, out, err = run_cli(monkeypatch, capsys, "ask", "how do I import a csv file")
    assert code == 2 and out == ""
    assert "No bundled knowledge found" in err and "Reinstall qa, or pass --db PATH" in err


@pytest.mark.parametrize("text", ["- id: x\n  question: [unclosed\n", "just a string\n"])
def test_a_broken_bundled_file_is_named(monkeypatch, capsys, tmp_path, text):
    (tmp_path / "en.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setattr(common, "knowledge_dir", lambda: tmp_path)
    code, _, err = run_cli(monkeypatch, capsys, "ask", "hello")
    assert code == 2 and str(tmp_path / "en.yaml") in err
