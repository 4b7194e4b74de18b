"""graphmem."""
