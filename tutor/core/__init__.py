"""What every stage shares: the tiny tokenizer and chat rendering, loading and saving models,
sampling, log-probabilities and KL, the held-out evaluation, length-grouped batches and the
CPU-safe settings of TRL's trainers. Nothing here knows about a particular stage."""
