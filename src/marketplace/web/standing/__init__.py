"""Standing orders on the pages: made from an order, edited, paused, resumed, deleted."""
