"""`vipctl hq`: head office. It reads every site's topics on the head-office broker
(controller/link/wire.py), keeps them in PostgreSQL, serves the head-office page and sends
booking requests to sites (issue 13)."""
