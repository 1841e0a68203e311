"""Attention Lab's window: Qt views that draw what core computes. No tensor maths here."""
