"""The shipped dialplan pieces agree with the [agent] defaults and with what paymentd does."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from paymentd.config import parse_config

CONF = Path(__file__).resolve().parents[2] / "freeswitch-conf" / "dialplan"


def extensions() -> dict[str, ET.Element]:
    found: dict[str, ET.Element] = {}
    for name in ("paymentd.xml", "paymentd_agent.xml"):
        root = ET.parse(CONF / name).getroot()
        found.update({e.attrib["name"]: e for e in root.iter("extension")})
    return found


def actions(extension: ET.Element) -> list[tuple[str, str]]:
    return [(a.attrib["application"], a.attrib.get("data", "")) for a in extension.iter("action")]


def test_the_secure_extension_is_the_one_paymentd_transfers_to() -> None:
    config = parse_config({})
    secure = extensions()[config.agent.secure_extension]
    (condition, *_rest) = secure.iter("condition")
    assert re.fullmatch(condition.attrib["expression"], config.agent.secure_extension)
    # Keys keyed before paymentd has diverted the DTMF events fire none (sensitive_dtmf);
    # the dialplan after socket does not keep it.
    assert actions(secure) == [
        ("set", "sensitive_dtmf=true"),
        ("socket", f"{config.esl.listen} async full"),
        ("unset", "sensitive_dtmf"),
        ("transfer", f"{config.agent.after_extension} XML {config.agent.secure_context}"),
    ]


def test_the_fallback_gives_the_customer_back_when_paymentd_never_ran() -> None:
    config = parse_config({})
    after = extensions()[config.agent.after_extension]
    no_result, with_result = list(after.iter("condition"))[1:]
    assert no_result.attrib == {
        "field": "${paymentd_result}",
        "expression": "^$",
        "break": "on-true",
    }
    # paymentd sets paymentd_agent_uuid on the customer before the transfer.
    assert ("intercept", "${paymentd_agent_uuid}") in actions(no_result)
    # With a result, the call carries on as after an automated payment.
    assert actions(with_result) == [("transfer", "paymentd_after XML default")]
    targets = {data.split()[0] for app, data in actions(after) if app == "transfer"}
    assert targets <= set(extensions())
