"""The API's routes, one module per area: visits and triggers, the site (devices, status,
events), manual announcements, signing in and out."""
