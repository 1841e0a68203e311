"""Dialogs of the explorer window.

new_model.py     a new untrained model: preset or sizes, positional encoding, live parameter count
model_sizes.py   the size and position fields "New model" and the studio's set-up share
model_zoo.py     real models from the Hugging Face Hub: which are here, download, open
model_card.py    about this model: core's model card as a small dialog
"""
