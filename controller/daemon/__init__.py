"""The processes of `broadcastctl run`: a supervisor, the air engine, and the HTTP API."""
