"""ModelArts' ``model_service`` package: the base classes ``customize_service.py`` derives.

Kept importable as a top-level package (the server puts ``modelarts_path`` first on
``sys.path``) so code written for ModelArts imports it unchanged.
"""
