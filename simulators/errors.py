"""The simulators' exceptions, rooted in SimulatorError (a common.errors.VipctlError)."""

from __future__ import annotations

from collections.abc import Sequence

from common.errors import VipctlError


class SimulatorError(VipctlError):
    """Root of the simulators' exceptions."""


class SimulatorCrashed(SimulatorError):
    """Something inside a simulator failed (a bug in the simulator, never a fault knob);
    raised by its stop(), so that the test that used it fails instead of passing."""

    def __init__(self, device_id: str, crashes: Sequence[BaseException]) -> None:
        first = crashes[0]
        more = f" (and {len(crashes) - 1} more)" if len(crashes) > 1 else ""
        super().__init__(f"simulator {device_id} crashed: {type(first).__name__}: {first}{more}")
        self.device_id = device_id
        self.crashes = list(crashes)
