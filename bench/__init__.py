"""
Benchmarks: programs that print figures, never part of the test suite.
"""
