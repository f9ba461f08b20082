-- The transactional outbox: events written in the same transaction as the
-- change that caused them, published by the relay after commit.
CREATE TABLE outbox (
    id         bigserial   PRIMARY KEY,
    event_id   text        NOT NULL UNIQUE,
    subject    text        NOT NULL,
    payload    bytea       NOT NULL,
    -- W3C trace context of the request that wrote the event, so the publish
    -- joins that request's trace.
    headers    jsonb       NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz
);

CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;
