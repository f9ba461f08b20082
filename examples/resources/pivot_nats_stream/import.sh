# Streams are imported by name. The provider's nats block is used to read
# it; a stream that carries its own nats block is imported through a
# provider alias configured for that account.
terraform import pivot_nats_stream.orders ORDERS
