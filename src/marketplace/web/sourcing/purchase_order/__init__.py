"""After the award: purchase order, goods receipt (BAST), invoice, treasury payment."""
