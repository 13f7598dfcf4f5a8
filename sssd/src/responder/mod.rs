//! Responders: serve client sockets from the cache, ask the backend when needed.
