"""A site's link to head office: what the daemon publishes on its own broker under
vipctl/<site_id>/ for Mosquitto's bridge to carry, and the booking requests the bridge
brings down (issue 13). Nothing in a visit waits on it."""
