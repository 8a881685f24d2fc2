"""Built-in plugins. Every module here is registered through the pluggy hooks, like a third-party plugin."""
