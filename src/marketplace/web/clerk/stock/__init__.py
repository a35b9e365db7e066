"""The clerk's stock pages (also a UMKM's own listings)."""
