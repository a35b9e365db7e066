"""Receiving: the goods receipt (BAST) of each shipped leg, and its printable page."""
