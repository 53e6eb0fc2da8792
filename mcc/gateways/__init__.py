"""
Gateways: channels that bring visitors from elsewhere than the web widget.
SMS through Twilio and Telnyx, each provider a module speaking its own wire
format; the rules are L{mcc.routing.gateways}.
"""
