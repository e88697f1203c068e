"""The ``mms`` package ModelArts names for the MXNet base class (MXNet Model Server)."""
