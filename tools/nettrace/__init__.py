"""Pure-Python reader and writer for EventPipe traces (.nettrace / .netperf)."""
