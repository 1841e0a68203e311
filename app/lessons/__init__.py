"""Lessons, presenter mode, hand-outs and session files: the classroom side of Attention Lab.

context.py            what the lessons are handed instead of the window
classroom.py          everything lessons add to the window, wired in one place
lesson_pane.py        one step at a time: explanation, live sentences, "try this", Next/Back
lesson_actions.py     a step's "try this", done in the window as a student would
step_numbers.py       a step's live numbers, from the snapshot on screen
questions_view.py     one card per check-your-understanding question
highlight.py          a panel brought forward and framed for a moment
parameter_view.py     the model's parameters by part, beside GPT-2 and GPT-3
residual_view.py      the residual stream of the last token, block by block
presenter.py          presenter mode (F5), and back exactly as it was
projector_layout.py   how presenter mode shares the screen
projector_style.py    thick lines and projector-proof colours, undone exactly
handout.py            a lesson as an A4 PDF
handout_maker.py      each step's state, numbers and picture taken from the window for the hand-out
panel_picture.py      a panel as it should look on paper
history_picture.py    a saved model's training curves, drawn for the hand-out
class_file_io.py      what a class file captures from the window and restores to it
"""
