"""The broadcastctl command line: run the daemon, check config, preview the plan, read the
record, admin.
"""
