"""The controller's exceptions, rooted in ControllerError (itself a common.errors.VipctlError).

Errors that belong to one part live beside it and derive from ControllerError: the visits'
(controller/store/visits.py: BookingRefused, UnknownVisit, IllegalTransition), the ledger's
UnclaimedStep, the credentials' AuthError, the API server's ApiError, the embedded broker's
BrokerUnavailable. What several parts share is here.
"""

from __future__ import annotations

from collections.abc import Sequence

from common.errors import VipctlError


class ControllerError(VipctlError):
    """Root of the controller's exceptions."""


class BadInput(ControllerError):
    """A file or option that cannot be used; `problems` are printed one per line."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)
