"""Meta-tests in the manner of datasette: every hook is documented in the hook reference and
exercised by a test named after it; every docs code block marked runnable runs."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from fanlog.hookspecs import CALLBACK_HOOKS, LOGGER_HOOKS, CallbackSpec, LoggerSpec

ROOT = Path(__file__).parents[2]
HOOK_DOC = (ROOT / "docs" / "reference" / "hooks.md").read_text(encoding="utf-8")
RUNNABLE = re.compile(r"<!-- test: run -->\s*```python\n(.*?)```", re.S)


def _args(spec, hook):
    return [p for p in inspect.signature(getattr(spec, hook)).parameters if p != "self"]


@pytest.mark.parametrize("hook", LOGGER_HOOKS + CALLBACK_HOOKS)
def test_hook_is_documented_with_its_arguments(hook):
    spec = LoggerSpec if hook in LOGGER_HOOKS else CallbackSpec
    heading = f"### `{hook}({', '.join(_args(spec, hook))})`"
    assert heading in HOOK_DOC, f"docs/reference/hooks.md lacks {heading}"


def test_reference_documents_no_hook_that_does_not_exist():
    documented = set(re.findall(r"^### `(\w+)\(", HOOK_DOC, re.M))
    assert documented == set(LOGGER_HOOKS + CALLBACK_HOOKS)


@pytest.mark.parametrize("hook", LOGGER_HOOKS + CALLBACK_HOOKS)
def test_hook_is_exercised_by_a_test(hook):
    pattern = re.compile(rf"^def test_hook_{hook}\b", re.M)
    files = [p for p in (ROOT / "tests").rglob("test_*.py")
             if pattern.search(p.read_text(encoding="utf-8"))]
    assert files, f"no test named test_hook_{hook} in tests/"


def _blocks():
    for path in sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]):
        for i, match in enumerate(RUNNABLE.finditer(path.read_text(encoding="utf-8"))):
            yield pytest.param(match.group(1), id=f"{path.relative_to(ROOT)}#{i}")


@pytest.mark.parametrize("code", list(_blocks()))
def test_runnable_docs_block(code):
    exec(compile(code, "<docs>", "exec"), {"__name__": "__docs__"})


def test_framework_blocks_run_in_their_frameworks_environment():
    """A block marked ``<!-- test: run in=X -->`` needs framework X, absent here: it must
    run in tox env X, from tests/integrations/X/, and not be left unrun."""
    from tests.integrations.support import FRAMEWORK_BLOCK

    tox = (ROOT / "tox.ini").read_text(encoding="utf-8")
    env_list = re.search(r"^env_list =(.*?)^\S", tox, re.M | re.S).group(1)
    frameworks = {m.group(1) for path in (ROOT / "docs").rglob("*.md")
                  for m in FRAMEWORK_BLOCK.finditer(path.read_text(encoding="utf-8"))}
    assert frameworks
    for framework in frameworks:
        assert re.search(rf"\b{framework}\b", env_list), f"tox env_list lacks {framework}"
        assert f"tests/integrations/{framework}" in tox
        runners = [p for p in (ROOT / "tests" / "integrations" / framework).glob("test_*.py")
                   if f'docs_blocks("{framework}")' in p.read_text(encoding="utf-8")]
        assert runners, f"nothing in tests/integrations/{framework}/ runs its docs blocks"


def test_some_blocks_are_marked_runnable():
    assert len(list(_blocks())) >= 2
