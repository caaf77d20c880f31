"""Admin authentication: accounts, passwords, server-side sessions, CSRF and login throttling."""
