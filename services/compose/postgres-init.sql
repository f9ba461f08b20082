-- One database and one user per service, as on Aurora: a service's
-- credentials reach only its own database.
CREATE USER messenger WITH PASSWORD 'messenger';
CREATE DATABASE messenger OWNER messenger;
REVOKE ALL ON DATABASE messenger FROM PUBLIC;

CREATE USER notifier WITH PASSWORD 'notifier';
CREATE DATABASE notifier OWNER notifier;
REVOKE ALL ON DATABASE notifier FROM PUBLIC;
