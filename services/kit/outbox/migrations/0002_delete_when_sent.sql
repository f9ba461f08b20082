-- The relay deletes events once JetStream acknowledged them (DELETE …
-- RETURNING is its claim), so every row is unsent. Marking rows sent
-- rewrote each one with all its index entries (sent_at was indexed), the
-- largest share of the relay's database work; event_id's uniqueness is
-- JetStream's to enforce (Nats-Msg-Id), and the partial indexes on sent_at
-- have nothing left to select.
DELETE FROM outbox WHERE sent_at IS NOT NULL;
DROP INDEX outbox_sent_at;
DROP INDEX outbox_unsent;
ALTER TABLE outbox DROP CONSTRAINT outbox_event_id_key;
ALTER TABLE outbox DROP COLUMN sent_at;
