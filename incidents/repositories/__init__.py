"""select()-based queries. Each function takes the session first and never commits."""
