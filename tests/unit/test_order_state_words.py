"""The buyer's words for an order's state: goods on the way are not "partly received"."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from marketplace.web import i18n
from marketplace.web.names import order_state_label


@pytest.mark.parametrize(
    ("order_status", "legs", "words"),
    [
        ("partially_fulfilled", ["shipped"], "Dalam pengiriman"),
        ("partially_fulfilled", ["shipped", "reserved"], "Dalam pengiriman"),
        ("partially_fulfilled", ["delivered", "shipped"], "Sebagian diterima"),
        ("partially_fulfilled", ["delivered", "reserved"], "Sebagian diterima"),
        ("confirmed", ["reserved"], "Dikonfirmasi"),
        ("cancelled", ["cancelled"], "Dibatalkan"),
    ],
)
def test_the_state_of_an_order_in_indonesian(
    order_status: str, legs: list[str], words: str
) -> None:
    i18n.use_language("id")
    order = SimpleNamespace(status=order_status)
    assert order_state_label(order, [SimpleNamespace(status=s) for s in legs]) == words
