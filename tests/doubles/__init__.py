"""Device doubles written from the vendors' documentation; for tests, never for the product."""
