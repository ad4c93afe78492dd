"""Devices vipctl plays itself: libVLC media players and a speaker for the intercom.

They speak the vipctl-media and vipctl-intercom conventions (docs/conventions-vipctl.md) over
a transport: an MQTT connection in `vipctl agent media` on a player PC, or an in-process
loopback when the daemon plays them on its own box. The controller drives either through the
same Device and codec. See docs/media.md.
"""
