"""Build the configured gateway."""

from __future__ import annotations

import aiohttp

from paymentd.gateways.base import Gateway
from paymentd.gateways.config import GatewayConfig
from paymentd.gateways.rest import RestGateway
from paymentd.gateways.sandbox import SandboxGateway
from paymentd.gateways.stripe import StripeGateway

__all__ = ["create_gateway"]


def create_gateway(config: GatewayConfig, session: aiohttp.ClientSession) -> Gateway:
    """The gateway ``config.kind`` names; HTTP gateways share ``session``."""
    if config.kind == "stripe":
        return StripeGateway(config.stripe, session, config.timeout_seconds)
    if config.kind == "rest":
        return RestGateway(config.rest, session, config.timeout_seconds)
    return SandboxGateway(config.sandbox, config.timeout_seconds)
