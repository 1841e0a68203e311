"""Lessons, presenter mode, hand-outs and session files: the classroom side of Attention Lab."""
