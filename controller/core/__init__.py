"""The station's foundations: the clock and its waits, station time, stored instants, the
database conventions.
"""
