"""Attention Lab's window: Qt views that draw what core computes. No tensor maths here.

state/        the explorer's state without Qt (model in use, snapshots, palette, sampling)
views/        the explorer's panels, one view per file
dialogs/      the explorer's dialogs (new model, model zoo, model card)
lessons/      lessons, presenter mode, hand-outs, class files: the classroom side
studio/       the training studio: set up a run, step through it, watch heads form
controller.py       the current model, prompt and what-if, traced on a worker
selection.py        the layer and head every panel looks at
settings.py         what the app remembers between runs
theme.py            light and dark themes for Qt and pyqtgraph
error_display.py    errors shown where the user looks: status bar or one message box
crash.py            the unexpected: shown, details offered to save, app keeps running
model_loader.py     slow model work (opening, Hub sizes, downloads) off the GUI thread
model_opening.py    opening, making and saving the model the explorer shows
panel_dock.py       a panel's dock and what the window remembers about it
window.py           the explorer window: every panel in a dock, one controller feeding them
window_layout.py    the docks' default arrangement and first sizes
window_menus.py     the menu bar and the small dialogs it opens
window_classroom.py the narrow context the window hands the lessons
window_compare.py   the Compare bar in the window: one second prompt, remembered, named in dock titles
screenshot.py       `--screenshot`: wait for every panel to draw, save the picture, quit
main.py             `attention-lab`: open the explorer window
__main__.py         `python -m app`, like `attention-lab`
"""

import os

# numpy's BLAS starts one busy-waiting thread per core; on a 2-core machine they take the core the window
# is drawing on (the vocabulary map at start-up cost the GUI thread 0.7 s that way). One thread unless the
# user chose otherwise. Set here because it only counts before numpy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
