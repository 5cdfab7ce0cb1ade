"""What the caller hears: prompts and spoken values, composed from pre-recorded audio."""
