-- API token scopes: `read` tokens list and read; `admin` tokens also change and delete.
-- Tokens made before scopes existed could do everything, so they stay `admin`.
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin' CHECK (scope IN ('read', 'admin'));
