"""Speed plumbing: settings that make the same computation faster, kept out of the teaching code.

malloc.py   freed memory kept for reuse instead of handed back to the operating system
"""
