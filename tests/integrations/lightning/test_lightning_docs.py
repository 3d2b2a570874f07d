"""The runnable blocks of docs/integrations/lightning.md, run where lightning is installed (core's
docs test leaves blocks marked ``in=lightning`` to this environment)."""

from __future__ import annotations

import pytest

from tests.integrations.support import docs_blocks

BLOCKS = docs_blocks("lightning")


def test_the_page_has_runnable_blocks():
    assert BLOCKS


@pytest.mark.parametrize("code", [pytest.param(code, id=where) for where, code in BLOCKS])
def test_docs_block(code):
    exec(compile(code, "<docs>", "exec"), {"__name__": "__docs__"})
