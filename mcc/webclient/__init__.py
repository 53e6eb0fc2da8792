"""
The web chat client under C{/client/}: operators answer chats from a browser.
"""
