"""Teaching: lessons and their live numbers, questions, head detectors, the training timeline."""
