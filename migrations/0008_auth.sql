-- Users, roles and sessions; what each department's viewers may open; the audit log.

CREATE SEQUENCE user_id_seq START 1;

-- role: admin | executive | lead | cx_officer | viewer. A lead or a viewer belongs to one
-- department; the other roles to none.
CREATE TABLE users (
    user_id          BIGINT PRIMARY KEY DEFAULT nextval('user_id_seq'),
    email            VARCHAR NOT NULL UNIQUE,
    display_name     VARCHAR NOT NULL,
    lang             VARCHAR NOT NULL DEFAULT 'en',
    role             VARCHAR NOT NULL,
    department       VARCHAR REFERENCES departments (department),
    -- argon2id in PHC string format.
    password_hash    VARCHAR NOT NULL,
    -- Set for an invitation (a one-time password an admin chose): the user sets their own at
    -- the next sign-in.
    must_change_password BOOLEAN NOT NULL DEFAULT false,
    disabled_at      TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    last_login_at    TIMESTAMPTZ
);

-- Sessions of tower-sessions, kept in the product's own database so a restart logs nobody
-- out. The id is stored as a SHA-256 so a copy of the database holds no usable cookie.
CREATE TABLE sessions (
    id_hash      VARCHAR PRIMARY KEY,
    -- The signed-in user, so a password change or a disabled account ends their sessions.
    user_id      BIGINT,
    data         VARCHAR NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);

-- The views a department's viewers may open besides their own department view
-- (view: company | journeys | a department key).
CREATE TABLE department_views (
    department  VARCHAR NOT NULL REFERENCES departments (department),
    view        VARCHAR NOT NULL,
    PRIMARY KEY (department, view)
);

INSERT INTO department_views
SELECT department, 'company' FROM departments WHERE department <> 'company';

-- Every change made through the product: who, when, what, before and after (JSON).
CREATE SEQUENCE audit_id_seq START 1;

CREATE TABLE audit_log (
    audit_id   BIGINT PRIMARY KEY DEFAULT nextval('audit_id_seq'),
    changed_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    actor      VARCHAR NOT NULL,
    action     VARCHAR NOT NULL,
    subject    VARCHAR NOT NULL,
    old_value  JSON,
    new_value  JSON
);

-- API tokens act with a role like a user (`ingest` may only send events).
ALTER TABLE api_tokens ADD COLUMN role VARCHAR DEFAULT 'ingest';
ALTER TABLE api_tokens ADD COLUMN department VARCHAR;

-- An admin's choice of owner department for a KPI, over the catalog's default.
CREATE TABLE kpi_owners (
    kpi        VARCHAR PRIMARY KEY,
    owner      VARCHAR NOT NULL REFERENCES departments (department),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
