"""The air engine: the process that owns the hardware, and the interface the API uses to ask it."""
