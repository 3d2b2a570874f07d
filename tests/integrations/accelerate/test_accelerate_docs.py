"""The runnable blocks of docs/integrations/accelerate.md, run where accelerate is installed (core's
docs test leaves blocks marked ``in=accelerate`` to this environment)."""

from __future__ import annotations

import pytest

from tests.integrations.support import docs_blocks

BLOCKS = docs_blocks("accelerate")


def test_the_page_has_runnable_blocks():
    assert BLOCKS


@pytest.mark.parametrize("code", [pytest.param(code, id=where) for where, code in BLOCKS])
def test_docs_block(code):
    exec(compile(code, "<docs>", "exec"), {"__name__": "__docs__"})
