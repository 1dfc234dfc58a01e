"""Shop connectors (adapter layer): Shopify and WooCommerce payloads to shopmail snapshots
(``shopify``, ``woocommerce``: plain functions, no Django), their webhooks in (``inbound``) and
the pull from the shops' REST APIs (``client``, ``pull``)."""
