"""Consignment: UMKM goods placed at a cooperative, paid for when sold.

Owns agreements (commission in basis points, settlement cycle), intakes (proposed by the
UMKM, confirmed by the cooperative on physical receipt), sales recorded when a consignment
leg is delivered, returns of unsold or expired goods, and settlement runs that produce a
statement and a payout per consignor. Invariants: commission is fixed per sale at sale time;
each sale is settled exactly once; statement totals are exact to the rupiah. Talks to
listings (consigned stock), orders (delivered legs) and the ledger (sales, payouts).
"""
