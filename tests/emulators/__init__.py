"""Provider emulators: small Starlette apps that speak the documented APIs Weir's connectors call,
with the providers' real response and error shapes, served on 127.0.0.1 by ``serve``."""
