"""Files: checkpoints, safe writes, GPT-2 and Hugging Face models, the Hub cache, shipped models, class files."""
