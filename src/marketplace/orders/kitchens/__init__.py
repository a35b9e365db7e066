"""A kitchen's own planning, beside its orders: the budget periods its MBG advances fund
and the standing orders the worker places the day before (the use cases are
`orders.budget_service` and `orders.standing`; this package holds their endpoints)."""
