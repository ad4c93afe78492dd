"""vipctl as a systemd service: the unit it ships (`vipctl service install`) and the
notifications the daemon sends the service manager (READY, WATCHDOG, STOPPING)."""
