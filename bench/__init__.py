"""vipctl's benchmarks: `python -m bench` (or scripts/bench). Not part of the test suite."""
