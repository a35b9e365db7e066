"""Procurement: Bulog purchase lots, inter-city trade contracts and government sourcing.

Owns the pooling of `bulog_lot` order legs into purchase lots per (cooperative, product,
Bulog branch), the allotment of trade-contract volume across supplying cooperatives by
declared capacity (with shortfalls re-allotted down the list) and the government path
RFQ → quote → award → purchase order → goods receipt (BAST) → invoice. Invariants: every
demanded unit is either released or reported unfilled; allotments add up to the contract
volume and never exceed a supplier's capacity. Talks to orders (releasing legs), listings
(stock in), the ledger (levies, invoices) and publishes OCDS release packages.
"""

from marketplace.procurement.contracts.calloffs import ContractCalloffs as ContractCalloffs
from marketplace.procurement.contracts.calloffs import ContractOffer as ContractOffer
from marketplace.procurement.lots.domain import NoBulogBranch as NoBulogBranch
from marketplace.procurement.lots.pooling import LotPooling as LotPooling
