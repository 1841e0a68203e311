"""The explorer's panels, one view per file."""
import os

# Qt's raster painter hands bigger fills and strokes to a pool of threads and waits for them. The
# panels paint many small pictures per keystroke: on a busy 2-core machine the hand-offs cost more
# than they save (the attention lines waited on the pool for most of their paint), so paint on the GUI
# thread alone. Read by Qt when it first paints; a user's own setting wins.
os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")
