"""
The chat service's rules, apart from any protocol: who the operators are,
who is available, and (later) queues and chats.  It calls the store; the
XMPP and HTTP adapters call it.
"""
