"""`vipctl agent media`: a player PC's players and speakers on MQTT (agent.py)."""
