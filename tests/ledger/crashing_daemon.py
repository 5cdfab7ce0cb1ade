"""A stand-in for ``paymentd serve`` in the crash tests: charge once, then wait to be killed.

Run as ``python -m tests.ledger.crashing_daemon '<json>'`` with the ledger and
gateway settings; it opens the charging service as the daemon does, starts one
charge and prints the attempt's ids. The test SIGKILLs it while the gateway
holds the answer back, then recovers on the same ledger.
"""

from __future__ import annotations

import asyncio
import json
import sys

import aiohttp

from paymentd.gateways import GatewayConfig, RestConfig, SandboxConfig, open_charging
from paymentd.ledger import LedgerConfig
from tests.gateways.processor import SECRET
from tests.gateways.support import charge_request


async def main(settings: dict[str, str]) -> None:
    ledger = LedgerConfig(**json.loads(settings["ledger"]))
    gateway = GatewayConfig(
        kind=settings["gateway"],
        timeout_seconds=60,
        sandbox=SandboxConfig(latency_seconds=30, state_path=settings.get("state_path")),
        rest=RestConfig(url=settings.get("url"), signing_secret=SECRET),
    )
    async with aiohttp.ClientSession() as http:
        service = await open_charging(gateway, ledger, http)
        request = charge_request(key=settings["key"])
        print(json.dumps({"attempt_id": request.attempt_id}), flush=True)
        await service.charge(request)
    print("answered: the test should have killed us by now", flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
