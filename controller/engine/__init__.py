"""The reception engine: visits on the schedule, triggers and presses, cues, holds and the
restore (engine.py and its parts), the claims writer that turns a scene's states into device
commands (executor.py), the announcements queue (announcer.py) and the media watch."""
