"""Payment gateways behind one small interface, and the charging service that uses them.

One module per provider: :mod:`~paymentd.gateways.sandbox` (the default),
:mod:`~paymentd.gateways.stripe` and :mod:`~paymentd.gateways.rest` (the Twilio
Generic Pay Connector's JSON). HTTP goes through one shared
``aiohttp.ClientSession`` owned by the daemon. The call driver only needs
:class:`ChargingService`.
"""

from paymentd.gateways.base import Gateway, Token, TokenizingGateway
from paymentd.gateways.config import GatewayConfig, RestConfig, SandboxConfig, StripeConfig
from paymentd.gateways.factory import create_gateway
from paymentd.gateways.service import ChargingService, RecoveryReport, open_charging

__all__ = [
    "ChargingService",
    "Gateway",
    "GatewayConfig",
    "RecoveryReport",
    "RestConfig",
    "SandboxConfig",
    "StripeConfig",
    "Token",
    "TokenizingGateway",
    "create_gateway",
    "open_charging",
]
