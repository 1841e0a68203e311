"""The model: its config, positional encodings, hook points, the GPT itself, tracing one forward pass, sampling."""
