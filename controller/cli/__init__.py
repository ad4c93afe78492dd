"""The `vipctl` command (main.py) and its sub-commands: run, simulate and demo (run.py),
the API's client commands (client.py, say.py), check-config, auth helpers and the agent."""
