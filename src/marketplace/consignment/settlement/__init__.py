"""Consignment settlement's endpoints, beside the placing of goods (agreements, intakes,
returns): settlement runs, statements, adjustments and payouts (the use case is
`consignment.settlement_service`; this package holds its endpoints)."""
