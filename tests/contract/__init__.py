"""Contract cassettes: scenarios recorded once, replayed offline, compared with the fake."""
