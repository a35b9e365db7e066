"""Typed builders for the tests' scaffolding, one module per context: what a test needs
(a product, a listing, an order body, a placed order) is defined once here and built by a
small async function that answers a Struct, not an untyped dict."""
