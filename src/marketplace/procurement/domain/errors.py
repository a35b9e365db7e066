"""Errors every procurement room raises alike (pure): one class per problem code."""

from __future__ import annotations

from marketplace.errors import ValidationFailed


class UnknownProduct(ValidationFailed):
    code = "procurement.unknown_product"
    title = "Some products are not in the catalogue"


class ReceiptExceedsOrder(ValidationFailed):
    code = "procurement.receipt_exceeds_order"
    title = "More would be received than was ordered"


__all__ = ["ReceiptExceedsOrder", "UnknownProduct"]
