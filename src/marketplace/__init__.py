"""Koperasi Merah Putih supply marketplace."""
