# Consumers are imported as <stream>/<durable_name>.
terraform import pivot_nats_consumer.shipping ORDERS/shipping
