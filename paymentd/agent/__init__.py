"""Agent-assisted payments: the API agent desktops call, and the moves of call legs.

An agent on a live call starts a secure payment from the desktop
(``POST /v1/calls/{call_uuid}/payments``).  paymentd finds the agent's leg
bridged to the customer, keeps the agent out of the capture (``detach``: the
customer is moved into the secure extension and the agent parked with hold
audio; ``mute``: the agent stays bridged but hears nothing), masks recordings,
runs the payment dialogue on the customer's leg, streams masked progress to the
desktop (Server-Sent Events), and gives the customer back to the agent with the
result.  Modules:

- :mod:`~paymentd.agent.config`: the ``[agent]`` section;
- :mod:`~paymentd.agent.payments`: a payment's life, its events and the registry;
- :mod:`~paymentd.agent.requests`: the API's request body, validated;
- :mod:`~paymentd.agent.legs`: the ESL choreography of the two legs;
- :mod:`~paymentd.agent.service`: ties these to the daemon (calls, hooks, FreeSWITCH events);
- :mod:`~paymentd.agent.api`: the HTTP routes, bearer tokens and the event stream.
"""
