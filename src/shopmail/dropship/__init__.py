"""Drop-shippers (SPEC section 7): their logins, the suppliers they ship for, and what of the
open orders they may see. The portal's pages (an adapter: they run ``flows.actions``) are in
``shopmail.panel.dropship_portal``, mounted at ``/dropship/``."""
