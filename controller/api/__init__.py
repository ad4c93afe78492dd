"""The HTTP API around a running daemon: the FastAPI app (app.py) served by uvicorn in the
daemon's loop (server.py), the authentication middleware, the routes (routes/), the models
and errors they share, and the concierge page (web/)."""
