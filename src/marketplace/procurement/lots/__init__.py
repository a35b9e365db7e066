"""Bulog purchase lots, a room of procurement.

Owns the pooling of `bulog_lot` order legs into purchase lots per (cooperative, product,
Bulog branch), closing a lot into a purchase order to its Bulog branch (at its cut-off, when
full, or on the cooperative's submit) and receiving it: the goods go to the waiting legs
oldest order first, the rest to the cooperative's own stock. Invariants: at most one open lot
per key; every demanded unit is either released or reported unfilled; a receipt never exceeds
the order. Talks to accounts (Bulog branches), listings (stock in and reserved) and the outbox;
orders uses it through `LotPooling`.
"""
