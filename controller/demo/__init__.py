"""`vipctl demo` and `vipctl simulate`: a whole visit on simulated devices with an embedded
broker (run.py, broker.py, timeline.py), with real media or serial devices on request."""
