"""Keys pressed before paymentd has the call's DTMF events to itself.

Until ``divert_events on`` reaches FreeSWITCH, every key the socket app's park loop
takes fires a DTMF event that any listener subscribed to ALL receives.  The shipped
dialplan sets ``sensitive_dtmf=true`` before ``socket``: those keys then fire no event
at all (and are not logged), and paymentd clears the variable once the events are
diverted to its socket, or it would not hear the caller either.
"""

from __future__ import annotations

import pytest

from paymentd.testing import FreeSwitchSimulator, Script, at_start
from tests.e2e.conftest import PAY
from tests.e2e.daemon import RunningDaemon
from tests.e2e.scenarios import GIVEN, VISA, confirm_all, pay_given_amount, visa_card

pytestmark = pytest.mark.slow


async def test_no_key_reaches_other_listeners_and_the_payment_goes_through(
    daemon: RunningDaemon, simulator: FreeSwitchSimulator
) -> None:
    call = await simulator.place_call(
        ("127.0.0.1", daemon.esl_port),
        extension=PAY,
        variables={**GIVEN, "sensitive_dtmf": "true"},
        # The caller starts keying the card before paymentd has asked for anything.
        caller=Script(
            at_start().press(VISA[:8], gap=0), pay_given_amount(), confirm_all(), *visa_card()
        ),
    )
    result = await call.wait_closed(timeout=60)

    assert result.variables.get("paymentd_result") == "success"
    assert result.variables.get("paymentd_card_last4") == "4242"
    # Neither the early keys nor the card's reached the global bus.
    assert simulator.bus_events("DTMF") == []
    assert VISA[:8] not in simulator.everything_text()
