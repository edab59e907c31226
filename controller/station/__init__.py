"""The engine's station: its life cycle (station), who has the air (air, resumes), the waker,
the airing runner with its relays and record, live state, late zones, the as-run writer, relays
and the amplifier chain, what an airing plays (programme).
"""
