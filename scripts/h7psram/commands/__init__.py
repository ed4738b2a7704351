"""West extension commands: thin argument handling over the library modules."""
