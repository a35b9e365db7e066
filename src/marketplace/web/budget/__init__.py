"""Budget periods on the pages: create, list, a period's usage report."""
