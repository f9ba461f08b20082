CREATE TABLE rooms (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL,
    created_by text        NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE room_members (
    room_id  uuid        NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id  text        NOT NULL,
    -- ord keeps members in the order they joined.
    ord      integer     NOT NULL,
    added_at timestamptz NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

CREATE INDEX room_members_user_id ON room_members (user_id);

CREATE TABLE messages (
    -- seq orders messages and is the page cursor; id is the public identity.
    seq        bigserial   PRIMARY KEY,
    id         uuid        NOT NULL UNIQUE,
    room_id    uuid        NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    sender_id  text        NOT NULL,
    body       text        NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE INDEX messages_room_id_seq ON messages (room_id, seq);

-- One row per (principal, key) of an idempotent mutation that succeeded or
-- is in flight; result_id points at what it created or changed.
CREATE TABLE idempotency_keys (
    principal   text        NOT NULL,
    key         text        NOT NULL,
    operation   text        NOT NULL,
    fingerprint text        NOT NULL,
    result_id   text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key)
);
