"""Training: text and its token ids, batches, the optimizer and its schedule, the trainer, the one recipe
(run_setup, recipe) the studio and the CLI build runs from, and the CLI."""
