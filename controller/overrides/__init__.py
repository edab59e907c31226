"""Overrides: manual and emergency airings entered by people, kept in the station database."""
