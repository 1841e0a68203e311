"""Files: checkpoints, safe writes, GPT-2 and Hugging Face models, the Hub cache, shipped models, class files.

json_values.py         numbers in a user's JSON (a bool is never a count)
text_files.py          reading a text file the user picked, with errors a student can act on
safe_write.py          writing a file a crash cannot half-write
weights_check.py       refusing weights that hold a NaN or an infinity
checkpoint_format.py   the checkpoint's file names, limits and errors
checkpoint_header.py   a safetensors header read without trusting it
checkpoint_meta.py     a checkpoint's meta.json read without trusting it
checkpoint.py          saving a model (and its training) to a folder and loading it back
class_file.py          a classroom session in one file
gpt2.py                GPT-2's own weights in our GPT, from a local folder
pretrained/            other Hugging Face families (GPT-Neo, Pythia, Llama, Qwen2) in our GPT
hub.py                 models from the Hugging Face Hub, in its standard cache
hub_checksum.py        a downloaded file's size and checksum checked before it is cached
zoo.py                 the model zoo: real models worth showing a class
shipped_models.py      the models that ship with Attention Lab and the probes that show them
"""
