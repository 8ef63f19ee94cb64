-- Limits shared by the nodes.

-- Rate-limit windows: per scope (project:<id> or server) and window (epoch
-- minute or second), the events the nodes have reserved; see store::quota_windows.
CREATE TABLE rate_windows (
    scope    TEXT   NOT NULL,
    win      BIGINT NOT NULL,
    used     BIGINT NOT NULL,
    granted  BIGINT NOT NULL,
    PRIMARY KEY (scope, win)
);

-- Failed sign-ins of all nodes, per key (ip:<address> or account:<email>): the sign-in
-- throttle's memory, shared; see store::sign_ins.
CREATE TABLE sign_in_failures (
    key  TEXT NOT NULL,
    at   DOUBLE PRECISION NOT NULL
);
CREATE INDEX sign_in_failures_by_key ON sign_in_failures (key, at);
