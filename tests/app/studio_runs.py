"""The studio run the window tests train: small enough that a step takes a few milliseconds."""

from core.training.run_setup import RunSetup

TINY_RUN = RunSetup(
    corpus_kind="synthetic",
    corpus_name="previous-token",
    model_preset="nano",
    context_length=16,
    batch_size=8,
    max_steps=40,
    warmup_steps=5,
    eval_interval=10,
    sample_interval=20,
)
