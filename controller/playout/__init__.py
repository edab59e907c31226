"""Playing audio: the player, the looping clip stream it airs from, decoding, envelopes, the
start's trace.
"""
