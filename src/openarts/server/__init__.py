"""The composition root: builds the platform, runs its loops and routes its ports."""
