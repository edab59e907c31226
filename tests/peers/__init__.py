"""Real third-party peers the tests run against (Mosquitto), started on loopback."""
