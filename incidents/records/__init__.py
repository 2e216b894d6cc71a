"""The kinds of record and what may be entered for them: data, no database access."""
