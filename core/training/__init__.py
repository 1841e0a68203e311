"""Training: text and its token ids, batches, the optimizer and its schedule, the trainer and the CLI."""
