"""What the window and the lessons know of the studio before it is built: its name, title and tooltip.
A module of its own so the lazily built studio_panel.py and the package both read it, neither importing
the other."""

STUDIO_NAME = "trainingStudio"  # the StudioPanel's objectName
TITLE = "Training studio"
TOOLTIP = "Train a model step by step and watch its attention heads form."
# The studio shares the tab group of this explorer panel (so the attention panel stays in view).
NEIGHBOUR_PANEL = "qkvView"
