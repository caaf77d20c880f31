"""Activity layer: typed events, the batched recorder, the change bus."""
