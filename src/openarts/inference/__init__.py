"""The inference runtime: the model server one replica of a real-time service runs.

``python -m openarts.inference.server --model-dir DIR --port PORT`` loads a ModelArts model
package (``config.json``, an optional ``customize_service.py`` and the model files) and
serves it over HTTP the way ModelArts' preset runtime does. ``server`` explains the
contract; the modules beside it each do one step of it.
"""
