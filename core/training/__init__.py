"""Training: text and its token ids, batches, the optimizer and its schedule, the trainer, the one recipe
(run_setup, recipe) the studio and the CLI build runs from, and the CLI.

    corpora.py        where training text comes from: built-in corpora and the user's files
    stories.py        simple generated stories a tiny model can learn
    synthetic.py      synthetic tasks whose right attention is known
    token_arrays.py   text to a compact numpy array of token ids, piece by piece
    dataset.py        token ids split in two and served as random context windows
    optimizer.py      AdamW, written out
    muon.py           Muon: orthogonalised momentum for the blocks' weight matrices (AdamW for the rest)
    schedule.py       the learning rate at each step
    train_config.py   a run's settings (one frozen dataclass) and its device
    step_record.py    what one training step reports
    trainer.py        training one optimizer step at a time
    run_setup.py      a training run written down: text, tokenizer, model, hyperparameters
    recipe.py         the one recipe: settings -> text -> tokenizer -> data -> model -> Trainer
    finetune.py       a run that starts from a model that already knows something
    distributed.py    training on several processes (torchrun)
    train.py          the command line (`attention-lab-train`)
"""
