"""
What visitors' browsers talk to: the visitor API (and later the widget).
"""
