//! The monitor: spawns and restarts backends and responders, hosts the private bus, turns
//! UNIX signals into bus calls.
