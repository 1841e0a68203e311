"""Attention Lab's window: Qt views that draw what core computes. No tensor maths here."""
import os

# numpy's BLAS starts one busy-waiting thread per core; on a 2-core machine they take the core the window
# is drawing on (the vocabulary map at start-up cost the GUI thread 0.7 s that way). One thread unless the
# user chose otherwise. Set here because it only counts before numpy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
