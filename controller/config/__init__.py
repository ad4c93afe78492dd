"""The site file (site.py): the site, its broker, database, devices, groups and credentials,
validated once at load; everything downstream trusts it."""
