"""Who may change the station: users, roles, API tokens, passwords and console sessions."""
