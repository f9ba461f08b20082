CREATE TABLE notifications (
    id            uuid        PRIMARY KEY,
    user_id       text        NOT NULL,
    kind          text        NOT NULL,
    room_id       text        NOT NULL,
    message_id    text        NOT NULL DEFAULT '',
    actor_user_id text        NOT NULL,
    text          text        NOT NULL,
    created_at    timestamptz NOT NULL,
    -- event_id is the event this notification came from.
    event_id      text        NOT NULL
);

CREATE INDEX notifications_user_id ON notifications (user_id, created_at DESC, id);

-- Events whose effect is stored; written in the same transaction as the
-- notifications, so a redelivered event is recognised and skipped.
CREATE TABLE processed_events (
    event_id     text        PRIMARY KEY,
    processed_at timestamptz NOT NULL DEFAULT now()
);
