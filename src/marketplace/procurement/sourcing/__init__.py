"""Government sourcing: RFQ → quotes → award → purchase order → BAST → invoice → payment.

Owns requests for quotation from city procurement offices, cooperatives' quotes, awards
and the purchase orders ("surat pesanan") they create, goods receipts (BAST), the
supplier's invoice (VAT per line, PPh 22 withheld by the treasurer) and the treasury
payment (SP2D). Invariants: one quote per cooperative per RFQ; at most one live
(not declined) purchase order per RFQ; received quantities never exceed what was
ordered; one invoice per purchase order, on what was received; the payment equals the
invoice's net payable. Talks to accounts (`OrganizationDirectory`), listings (product
catalogue), the ledger (`LedgerService.post` with `postings.government_invoice` and
`postings.payment_received`) and the outbox; publishes OCDS 1.1 release packages
(`ocds.py`). A room of procurement, beside and independent of `lots/` and `contracts/`.
"""
