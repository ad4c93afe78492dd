"""Who may use the API and the page: the site file's `auth:` section (settings.py), and the
tokens, password logins, sessions and throttle that check callers (credentials.py). No HTTP
here: the API's middleware and routes (controller/api/) build on it."""
