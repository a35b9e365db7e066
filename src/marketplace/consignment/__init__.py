"""Consignment: UMKM goods placed at a cooperative, paid for when sold.

Owns agreements (commission in basis points, settlement cycle, payout bank account),
intakes (proposed by the UMKM, confirmed by the cooperative on physical receipt — only then
does stock exist, as a cooperative listing whose owner is the UMKM), sales recorded when a
consignment leg is delivered (`sales.on_leg_delivered`, an outbox handler: only the
delivered quantity sells), returns of unsold or expired goods, and settlement runs that
produce a statement and a payout per consignor (`settlement_service`).

Invariants: commission is fixed per sale at sale time; each sale is settled exactly once
(a sale's `statement_id` is set by one ``UPDATE … WHERE statement_id IS NULL`` and a
trigger refuses any later change); statement totals are exact to the rupiah
(`settlement.build_statement` is the rule; the run computes it set-based in SQL).
Talks to listings (`ListingService`: consigned stock), orders (`OrderService.leg_facts`),
accounts (`OrganizationDirectory`) and the ledger (`postings.consignment_sale`,
`postings.consignment_payout`).
"""
