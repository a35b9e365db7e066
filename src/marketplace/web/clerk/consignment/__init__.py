"""The clerk's consignment page: agreements, settlements, payouts."""
