"""Deliverability (SPEC section 9): bounce and complaint intake, the suppression list.

A Django app of its own (label ``deliverability``) in the mail layer; DKIM signing is
``shopmail.mail.signing``.
"""
