"""Evidence files: what may be received (policy), receiving one (intake), handing one
out checked against its hash (download), listing them (listing), deleting stored
files with their records (storage), and removing the files a crash left unnamed (sweep)."""
