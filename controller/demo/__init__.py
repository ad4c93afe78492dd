"""`vipctl demo` and `vipctl simulate`: a whole visit on simulated devices with an embedded
broker (run.py, broker.py, timeline.py), with real media or serial devices on request."""

# Procedure minutes per wall-clock minute: the 45-minute preparation in 7.5 s, the hour in
# 10 s, so that the whole run, start-up and report included, stays under 30 s on a small box;
# a procedure minute is still a sixth of a second, long enough to read the lines come in order.
DEFAULT_SPEED = 360.0
