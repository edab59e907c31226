"""The API process's HTTP side: the app factory, shared dependencies, one router module per
resource, the console.
"""
