"""``mms.model_service``: only the MXNet base class lives here."""
