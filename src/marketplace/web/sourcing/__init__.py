"""Government sourcing pages: RFQs, quotes, award, purchase orders, BAST, invoice, payment."""
