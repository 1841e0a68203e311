"""Teaching: lessons and their live numbers, questions, head detectors, the training timeline.

analysis.py            the small maths the explorer's panels show: projections, similarities
detectors.py           a number per attention head saying which well-known job it does
lessons.py             lessons: Markdown files read into steps with live sentences
lesson_numbers.py      the live numbers a lesson sentence can quote, from one trace
teaching_numbers.py    more live numbers for the lecture steps (parameters, tokens, schedules)
explain_numbers.py     live numbers for the "Why this next token?" lesson
lesson_checks.py       what a step needs, what its "try this" does, what should then be true
lesson_questions.py    check-your-understanding questions answered by the live model
timeline.py            a bounded history of the weights during training, to scrub back through
bpe_replay.py          BPE training replayed one merge at a time
"""
