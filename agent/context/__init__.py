"""What the model sees of the repository: the whole codebase packed, or a ranked repo map."""
