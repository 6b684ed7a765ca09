"""Built-in architecture specs (YAML); see accelmodel.specs."""
