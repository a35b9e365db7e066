"""The cooperative quotes on an RFQ of its city."""
