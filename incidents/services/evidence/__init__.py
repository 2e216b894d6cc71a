"""Evidence files: what may be received (policy), receiving one (intake), handing one
out checked against its hash (download), listing them (listing), and deleting stored
files with their records (storage)."""
