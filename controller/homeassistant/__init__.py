"""Home Assistant's MQTT discovery (issue 15): vipctl as one device in Home Assistant, its
buttons pressing the way every press does. Opt-in in the site file (`homeassistant:`)."""
