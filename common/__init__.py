"""What every layer of vipctl may use, and which knows nothing of sites, devices or visits:
the error root (errors.py), YAML files validated with line numbers (yamlconf.py), secrets
read from the environment at load (envvars.py) and supervised background tasks (tasks.py).
It imports nothing else of vipctl."""
