"""The UMKM owner's pages: their goods at the cooperatives, when they are paid, intakes."""
