"""
mcc's own XMPP server (RFC 6120, RFC 6121): every operator account is an
account here, so any Jabber client can answer chats.
"""
