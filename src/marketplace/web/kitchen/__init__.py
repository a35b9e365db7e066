"""A buyer's pages of its day and its orders (controller: they commit a cancel)."""
