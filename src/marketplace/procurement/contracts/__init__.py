"""Inter-city trade contracts, a room of procurement.

Owns contracts a trade center signs for a counterparty city, the allotment of their weekly
volume across supplying cooperatives by declared capacity (shortfalls re-allotted down the
list), call-offs by orders, shipments and their levies. Invariants: allotments add up to the
contract volume (or report what is unplaced) and never exceed a supplier's capacity; what is
called off in a week never exceeds an allotment. Talks to accounts, listings (products), the
ledger (levies) and the outbox; orders uses it through `ContractCalloffs` and `ContractOffer`.
"""
