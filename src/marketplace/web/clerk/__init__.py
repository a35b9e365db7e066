"""The cooperative clerk's pages: the work queue, stock, consignment, sales and purchases."""
