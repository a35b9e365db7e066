"""The kitchen's two-weekly report to BGN on the pages: `/laporan`."""
