"""
What websites and visitors' browsers talk to: the visitor API, and the
chat widget with the code that embeds it.
"""
