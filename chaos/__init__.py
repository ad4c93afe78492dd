"""The chaos campaign (`python -m chaos`, `scripts/chaos`): visits on a real Mosquitto with
the real daemon, under a seeded schedule of faults, judged from outside the daemon.

Parts: the campaign itself (campaign.py) and, beside it, the fuzzers; each part returns a
dict that __main__ puts in one table and one JSON (README, "Reliability").
"""
