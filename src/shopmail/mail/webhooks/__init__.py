"""Webhooks out (SPEC section 8): every feed event POSTed, signed as Standard Webhooks does, to
each subscribed URL, retried with back-off for 3 days by the delivery worker's periodic job."""
