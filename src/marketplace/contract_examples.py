"""Examples of every operation's request and answer, for partner developers and SDKs.

Each context keeps its examples in its own `examples.py`: plain JSON-shaped values keyed by
the component schema they illustrate (`REQUESTS`, `RESPONSES`), with Indonesian data. Any
operation whose request body or main answer is that schema shows the example; a list
page (`items` + `next_cursor`) is illustrated from its item's example.
tests/test_contract_docs.py validates every example against its schema.
"""

from __future__ import annotations

from typing import Any


def attach_examples(document: dict[str, Any]) -> None:
    """Put each schema's example on every operation that sends or answers it."""
