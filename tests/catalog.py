"""Catalogue fixtures shared by listing, order and procurement tests (kept for older tests;
the definitions live in `tests.builders.catalog`)."""

from __future__ import annotations

from tests.builders.catalog import create_listing, create_product, product_body

__all__ = ["create_listing", "create_product", "product_body"]
