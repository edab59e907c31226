"""The engine's station: the waker, the airing runner, live state, the as-run writer, relays
and the amplifier chain.
"""
