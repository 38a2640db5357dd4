"""Pure DataFrame -> DataFrame transforms, one module per layer: no I/O, no dbutils, no global spark."""
