"""Documents on the pages: the PDFs for signed-in people, and the public check of a paper."""
