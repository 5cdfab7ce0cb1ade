"""Historical reporting from the ledger: ``paymentd report`` (:mod:`.cli`) and
``GET /v1/reports/sessions`` (:mod:`.http`), over :mod:`.report` and :mod:`.render`."""
