"""The root of every exception vipctl raises on purpose.

Each package has its own root below this one (devices.errors.DeviceError,
scenes.errors.SceneError, controller.errors.ControllerError,
simulators.errors.SimulatorError), in the manner of python-kasa's `KasaException`: a caller
can catch everything of one layer, or everything of vipctl, and nothing else. The facts an
error is about (a device id, a topic, a visit id) are attributes, not only words in its
message.
"""

from __future__ import annotations


class VipctlError(Exception):
    """Something vipctl refused or could not do; never a bug (those are other exceptions)."""
