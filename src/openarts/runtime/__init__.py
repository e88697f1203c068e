"""What only the loops use: staging data in and out of tasks, readying notebooks and model
replicas, and the Python environments (engines, images, models) tasks run in."""
