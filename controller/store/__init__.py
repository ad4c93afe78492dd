"""What vipctl keeps: the database and its tables, the visits and the book that enforces P1
(one visitor at a time), the executed-steps ledger (each step at most once) and the event
log. The database is the truth; nothing here knows of devices, scenes or the clock's jobs."""
